import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrames, FrameError, parseBinaryFrame, CHUNK_BYTES, type BinaryFrame, type WireFrame } from '../framing.ts';
import { fakeWire } from '../test-support/fake-channel.ts';
import { ACK_DELAY_MS, Inbox } from './inbox.ts';
import { Outbox } from './outbox.ts';

const MiB = 1024 * 1024;
type Chunk = Extract<BinaryFrame, { kind: 'chunk' }>;

function acksSent(frames: WireFrame[]): number[] {
  return frames.flatMap((f) => {
    if (typeof f === 'string') return [];
    const p = parseBinaryFrame(f);
    return p.kind === 'ack' ? [p.seq] : [];
  });
}

function chunksOf(json: string, msgId: number): Chunk[] {
  return encodeFrames(json, msgId, 64 * MiB, true).map((f) => {
    const p = parseBinaryFrame(f as Uint8Array<ArrayBuffer>);
    if (p.kind !== 'chunk') throw new Error('expected chunks');
    return p;
  });
}

test('towards a peer that cannot acknowledge every message is delivered and nothing is acked', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const inbox = new Inbox(64 * MiB);
  const w = fakeWire([]);
  assert.ok(inbox.text(w) && inbox.text(w));
  t.mock.timers.tick(1_000);
  assert.deepEqual(w.dc.sent, []);
});

test('after a resume frame (acked at once) the acks of a burst are coalesced into one carrying the highest number', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const inbox = new Inbox(64 * MiB);
  const w = fakeWire();
  assert.ok(inbox.text(w), 'before any resume frame: delivered, unnumbered');
  t.mock.timers.tick(ACK_DELAY_MS);
  assert.deepEqual(acksSent(w.dc.sent), [], 'nothing to ack before numbering starts');
  inbox.resume(w, 10, '1.1');
  t.mock.timers.tick(0);
  assert.deepEqual(acksSent(w.dc.sent), [9], 'the resume frame is acked at once: everything before 10');
  for (let i = 0; i < 5; i++) assert.ok(inbox.text(w));
  t.mock.timers.tick(ACK_DELAY_MS);
  assert.deepEqual(acksSent(w.dc.sent), [9, 14]);
});

test('what a new connection resends is dropped when it was delivered before', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const inbox = new Inbox(64 * MiB);
  const w1 = fakeWire();
  inbox.resume(w1, 1, '5.5');
  assert.deepEqual([inbox.text(w1), inbox.text(w1)], [true, true]);
  const w2 = fakeWire();
  inbox.resume(w2, 1, '5.5');
  assert.deepEqual([inbox.text(w2), inbox.text(w2), inbox.text(w2)], [false, false, true]);
});

test('a chunked message counts once, at its last chunk — also when it is refused as too large', () => {
  const inbox = new Inbox(CHUNK_BYTES);
  const w = fakeWire();
  inbox.resume(w, 1, '3.3');
  const big = chunksOf('b'.repeat(3 * CHUNK_BYTES), 1);
  assert.throws(
    () => inbox.chunk(w, big[0]!),
    (e: unknown) => e instanceof FrameError && e.code === 'too_large',
  );
  assert.equal(inbox.chunk(w, big[1]!), null);
  assert.equal(inbox.chunk(w, big[2]!), null);
  // The refused message took number 1: a resend of it from 1 is a duplicate, the next one is new.
  const w2 = fakeWire();
  inbox.resume(w2, 1, '3.3');
  assert.equal(inbox.text(w2), false);
  assert.equal(inbox.text(w2), true);
});

test('a connection that goes down takes its partial messages with it', () => {
  const inbox = new Inbox(64 * MiB);
  const w = fakeWire();
  const parts = chunksOf('p'.repeat(2 * CHUNK_BYTES + 1), 4);
  inbox.chunk(w, parts[0]!);
  inbox.reset();
  assert.throws(() => inbox.chunk(w, parts[1]!), /unknown message/);
});

/**
 * Both halves of acknowledged delivery, wired through fake channels: the first connection loses
 * every frame after the fourth message; the second resumes. Each message arrives exactly once, in order.
 */
test('outbox → inbox across a lost connection: every message exactly once, in order', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const out = new Outbox({ remoteId: 'b', highWaterBytes: 64 * MiB });
  const inbox = new Inbox(64 * MiB);
  const delivered: string[] = [];
  const carry = (from: ReturnType<typeof fakeWire>, to: ReturnType<typeof fakeWire>, upTo = Infinity) => {
    for (const f of from.dc.sent.splice(0, upTo)) {
      if (typeof f === 'string') {
        if (inbox.text(to)) delivered.push(f);
        continue;
      }
      const p = parseBinaryFrame(f);
      if (p.kind === 'resume') inbox.resume(to, p.firstSeq, p.session);
      else if (p.kind === 'chunk') {
        const text = inbox.chunk(to, p);
        if (text !== null) delivered.push(text);
      }
    }
  };
  const ackBack = (w: ReturnType<typeof fakeWire>) => {
    t.mock.timers.tick(ACK_DELAY_MS);
    for (const seq of acksSent(w.dc.sent.splice(0))) out.ack(seq);
  };
  const messages = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: i, pad: i === 6 ? 'z'.repeat(CHUNK_BYTES * 2) : '' }));

  // Connection 1: the sender's side `a1`, the receiver's side `b1`.
  const a1 = fakeWire();
  const b1 = fakeWire();
  out.resume(a1);
  for (const m of messages.slice(0, 3)) await out.send(a1, m);
  carry(a1, b1);
  ackBack(b1);
  for (const m of messages.slice(3, 8)) await out.send(a1, m);
  carry(a1, b1, 1); // message 3 arrives, its ack does not; 4–7 (with the chunked 6) are lost
  a1.closed = true;
  b1.closed = true;
  inbox.reset(); // what the link does when it tears connection 1 down

  const a2 = fakeWire();
  const b2 = fakeWire();
  assert.equal(out.resume(a2), 5, 'messages 3–7 were never acknowledged');
  for (const m of messages.slice(8)) await out.send(a2, m);
  await new Promise((r) => setImmediate(r));
  carry(a2, b2);
  ackBack(b2);
  assert.deepEqual(
    delivered.map((m) => (JSON.parse(m) as { n: number }).n),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.ok(delivered[6] === messages[6], 'the chunked message arrived intact');
  // Found by this test: an ack still pending for connection 1 used to hold back the first ack on
  // connection 2, leaving the resent messages unacknowledged until more traffic came.
  assert.equal(out.giveUp('done').length, 0, 'everything was acknowledged');
});
