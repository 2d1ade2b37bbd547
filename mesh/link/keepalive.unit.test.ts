import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBinaryFrame, type WireFrame } from '../framing.ts';
import { Keepalive } from './keepalive.ts';

function nonces(frames: WireFrame[]): number[] {
  return frames.map((f) => {
    const p = parseBinaryFrame(f as Uint8Array<ArrayBuffer>);
    if (p.kind !== 'ping') throw new Error(`expected a ping, got ${p.kind}`);
    return p.nonce;
  });
}

test('pings at once and every everyMs; a pong gives the round-trip time', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const k = new Keepalive({ everyMs: 1_000, deadAfterMs: 5_000 });
  const sent: WireFrame[] = [];
  k.received();
  k.start(
    (f) => sent.push(f),
    () => assert.fail('not silent'),
  );
  assert.deepEqual(nonces(sent), [1]);
  t.mock.timers.tick(3_000);
  assert.deepEqual(nonces(sent), [1, 2, 3, 4]);
  t.mock.timers.tick(40);
  k.pong(4);
  assert.equal(k.rttMs, 40);
  k.pong(99);
  assert.equal(k.rttMs, 40, 'a pong for no ping of ours changes nothing');
  k.stop();
  t.mock.timers.tick(5_000);
  assert.equal(sent.length, 4, 'stopped');
  assert.equal(k.running, false);
});

test('nothing heard for deadAfterMs: every tick reports the link silent, and keeps pinging', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const k = new Keepalive({ everyMs: 1_000, deadAfterMs: 2_500 });
  const silent: number[] = [];
  const sent: WireFrame[] = [];
  k.received();
  k.start(
    (f) => sent.push(f),
    (ms) => silent.push(ms),
  );
  t.mock.timers.tick(2_000);
  k.received(); // a frame at 2 s
  for (let i = 0; i < 4; i++) t.mock.timers.tick(1_000); // (one tick per interval: the mock clock jumps to the end of a tick)
  assert.deepEqual(silent, [3_000, 4_000], 'silent from 2.5 s after the last frame on');
  assert.equal(sent.length, 7, 'pings go on while silent: the first frame back ends the recovery');
});

test('a probe fails the link when no frame answers it in time; any frame answers it', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'] });
  const k = new Keepalive({ everyMs: 10_000 });
  let unanswered = 0;
  k.probe(100, () => unanswered++);
  t.mock.timers.tick(200);
  assert.equal(unanswered, 0, 'no probe while not running (no keepalive on this connection)');

  const sent: WireFrame[] = [];
  k.received();
  k.start(
    (f) => sent.push(f),
    () => {},
  );
  k.probe(4_000, () => unanswered++);
  k.probe(4_000, () => unanswered++); // one at a time
  assert.equal(sent.length, 2, 'the probe pings at once');
  t.mock.timers.tick(1_000);
  k.received();
  t.mock.timers.tick(5_000);
  assert.equal(unanswered, 0);

  k.probe(4_000, () => unanswered++);
  t.mock.timers.tick(4_000);
  assert.equal(unanswered, 1);
});

test('only the last 16 pings are remembered', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const k = new Keepalive({ everyMs: 10 });
  k.received();
  k.start(
    () => {},
    () => {},
  );
  t.mock.timers.tick(200); // pings 1–21
  k.pong(1);
  assert.equal(k.rttMs, undefined, 'ping 1 is forgotten');
  k.pong(21);
  assert.equal(k.rttMs, 0);
  k.stop();
});
