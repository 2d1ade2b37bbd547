import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry } from './testing.ts';
import { api } from './test-support.ts';
test('kill then restart takes over the stale lock; state survives SIGKILL', async () => {
  const r = await startRegistry();
  const k = await r.issueApiKey('survivor');
  await r.kill();
  await r.restart();
  assert.ok(await r.token(k));
  await r.stop();
});

test("a deleted key's JWTs stay refused after the registry restarts", async () => {
  const r = await startRegistry();
  const jwt = await r.token(await r.issueApiKey('gone-soon'));
  const admin = await r.token(r.adminKey);
  const agents = () => api(r.url, 'GET', '/api/registry/agents', { token: jwt }).then((x) => x.status);
  assert.equal(await agents(), 200);
  assert.equal((await api(r.url, 'DELETE', '/api/keys/gone-soon', { token: admin })).status, 200);
  assert.equal(await agents(), 401);
  await r.kill();
  await r.restart();
  assert.equal(await agents(), 401, 'the JWT is still within its lifetime and must stay refused');
  await r.stop();
});
