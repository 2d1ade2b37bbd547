import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry } from './testing.ts';
test('kill then restart takes over the stale lock; state survives SIGKILL', async () => {
  const r = await startRegistry();
  const k = await r.issueApiKey('survivor');
  await r.kill();
  await r.restart();
  assert.ok(await r.token(k));
  await r.stop();
});
