import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redial } from './redial.ts';

/** Fires the scheduled dial and says when (ms after scheduling). */
function when(t: { mock: { timers: { tick(ms: number): void } } }, r: Redial): number {
  let fired = false;
  r.schedule(() => (fired = true));
  for (let ms = 1; ms <= 20_000; ms++) {
    t.mock.timers.tick(1);
    if (fired) return ms;
  }
  return Infinity;
}

test('redial delays start between 150 and 300 ms and double up to 10 s', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const r = new Redial();
  const delays = Array.from({ length: 8 }, () => when(t, r));
  const caps = [300, 600, 1_200, 2_400, 4_800, 9_600, 10_000, 10_000];
  delays.forEach((d, i) => assert.ok(d >= caps[i]! / 2 && d <= caps[i]!, `attempt ${i + 1}: ${d} ms within [${caps[i]! / 2}, ${caps[i]}]`));
  r.reset();
  assert.ok(when(t, r) <= 300, 'an opened connection resets the backoff');
});

test('the higher peer id waits 1 s more, so the lower id usually dials first', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const d = when(t, new Redial(1_000));
  assert.ok(d >= 1_150 && d <= 1_300, `${d} ms`);
});

test('a new schedule replaces the pending one; cancel drops it', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const r = new Redial();
  let a = 0;
  let b = 0;
  r.schedule(() => a++);
  r.schedule(() => b++);
  assert.equal(r.pending, true);
  t.mock.timers.tick(1_000);
  assert.deepEqual([a, b, r.pending], [0, 1, false]);
  r.schedule(() => a++);
  r.cancel();
  t.mock.timers.tick(20_000);
  assert.deepEqual([a, r.pending], [0, false]);
});
