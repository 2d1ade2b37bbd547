import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './config.ts';

test('config: TASK_LEASE_S and TASK_MAX_ATTEMPTS — defaults, parsing, refusals, and the sweep keeps up with a short lease', () => {
  const d = loadConfig({});
  assert.equal(d.taskLeaseS, 90, 'an agent keeps its tasks while it counts as active (HEALTH_STALE_S)');
  assert.equal(loadConfig({ HEALTH_STALE_S: '30' }).taskLeaseS, 30);
  assert.equal(d.taskMaxAttempts, 3);
  assert.equal(d.sweepMs, 5000);
  const short = loadConfig({ TASK_LEASE_S: '2', TASK_MAX_ATTEMPTS: '5' });
  assert.equal(short.taskLeaseS, 2);
  assert.equal(short.taskMaxAttempts, 5);
  assert.equal(short.sweepMs, 500, 'the sweep runs 4 times per lease');
  for (const bad of ['0', '0.5', '-3', 'abc', 'Infinity']) {
    assert.throws(() => loadConfig({ TASK_LEASE_S: bad }), /TASK_LEASE_S must be a number >= 1/, bad);
  }
  for (const bad of ['0', '1.5', 'x']) {
    assert.throws(() => loadConfig({ TASK_MAX_ATTEMPTS: bad }), /TASK_MAX_ATTEMPTS must be/, bad);
  }
});
