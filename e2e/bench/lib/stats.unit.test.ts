import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, percentile, summarize, round } from './stats.ts';

test('median of odd and even samples, unsorted input', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('p99 uses nearest rank: the worst value of 100 samples is p100, p99 is the 99th', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, shuffled order
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
  assert.throws(() => percentile([1], 101), RangeError);
});

test('summarize does not reorder its input', () => {
  const xs = [3, 1, 2];
  const s = summarize(xs);
  assert.deepEqual(xs, [3, 1, 2]);
  assert.deepEqual(s, { n: 3, p50: 2, p99: 3, min: 1, max: 3 });
});

test('round keeps 3 significant digits for small values', () => {
  assert.equal(round(0.123456), 0.123);
  assert.equal(round(12.345), 12.3);
  assert.equal(round(1234.5), 1235);
});

test('summarize copes with 200,000 samples (no argument spreading)', () => {
  const xs = Array.from({ length: 200_000 }, (_, i) => i % 1000);
  const s = summarize(xs);
  assert.equal(s.min, 0);
  assert.equal(s.max, 999);
  assert.equal(s.p99, 989);
});
