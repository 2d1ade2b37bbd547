import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, sleep } from './backoff.ts';

test('backoff delays double from initialMs up to maxMs, each between half and all of its step', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1_000 });
  const steps = [100, 200, 400, 800, 1_000, 1_000];
  for (const step of steps) {
    const d = b.next();
    assert.ok(d >= step / 2 && d <= step, `delay ${d} within [${step / 2}, ${step}]`);
  }
  assert.equal(b.attempts, steps.length);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.ok(b.next() <= 100, 'after reset the next delay starts from initialMs again');
});

test('backoff jitter spreads peers that failed together', () => {
  const delays = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 10_000 }).next()));
  assert.ok(delays.size > 10, `50 first delays took ${delays.size} distinct values`);
});

test('a custom factor is honoured', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 100_000, factor: 3 });
  b.next();
  b.next();
  const third = b.next();
  assert.ok(third >= 450 && third <= 900, `third delay ${third} within [450, 900]`);
});

test('sleep resolves after its time, and rejects with the reason when aborted (before or during)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let done = false;
  const p = sleep(1_000).then(() => (done = true));
  t.mock.timers.tick(999);
  await Promise.resolve();
  assert.equal(done, false);
  t.mock.timers.tick(1);
  await p;
  assert.equal(done, true);

  const ac = new AbortController();
  const during = sleep(1_000, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(during, /stop/);
  await assert.rejects(sleep(1_000, AbortSignal.abort(new Error('already'))), /already/);
});
