import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_BYTES, parseBinaryFrame, type WireFrame } from '../framing.ts';
import { fakeWire } from '../test-support/fake-channel.ts';
import { LinkError } from './link-error.ts';
import { Outbox } from './outbox.ts';

const MiB = 1024 * 1024;
const tick = () => new Promise((r) => setImmediate(r));
const kinds = (frames: WireFrame[]) => frames.map((f) => (typeof f === 'string' ? 'text' : parseBinaryFrame(f).kind));
const isLinkError = (code: string) => (e: unknown) => e instanceof LinkError && e.code === code;

test('messages go out in order as text frames; towards a peer that chunks, a large one as chunk frames', async () => {
  const out = new Outbox({ remoteId: 'b' });
  const w = fakeWire();
  await Promise.all([out.send(w, '{"n":1}'), out.send(w, '{"n":2}')]);
  assert.deepEqual(w.dc.sent, ['{"n":1}', '{"n":2}']);
  await out.send(w, 'x'.repeat(2 * CHUNK_BYTES + 1));
  assert.deepEqual(kinds(w.dc.sent.slice(2)), ['chunk', 'chunk', 'chunk']);
});

test('too large, or needing chunks the peer cannot reassemble: refused before anything is sent', async () => {
  const out = new Outbox({ remoteId: 'b', maxMessageBytes: MiB });
  const w = fakeWire([]);
  await assert.rejects(out.send(w, 'x'.repeat(2 * MiB)), /exceeds the limit/);
  await assert.rejects(out.send(w, 'x'.repeat(MiB / 2)), /needs chunking/);
  assert.equal(w.dc.sent.length, 0);
});

test('towards a peer that cannot acknowledge, sendConfirmed says "sent" once the frames are on the channel', async () => {
  const out = new Outbox({ remoteId: 'rust' });
  const w = fakeWire([]);
  assert.equal(await out.sendConfirmed(w, '{}'), 'sent');
});

test('towards a peer that acknowledges, sendConfirmed resolves "peer" only at its ack', async () => {
  const out = new Outbox({ remoteId: 'b' });
  const w = fakeWire();
  let result: string | undefined;
  const p = out.sendConfirmed(w, '{"a":1}').then((r) => (result = r));
  await tick();
  assert.equal(result, undefined, 'on the channel is not delivered');
  out.ack(1);
  await p;
  assert.equal(result, 'peer');
});

test('above the high-water mark frames wait for bufferedamountlow', async () => {
  const out = new Outbox({ remoteId: 'b', highWaterBytes: 10 });
  const w = fakeWire();
  await out.send(w, '{"first":"0123456789"}');
  let second = false;
  const p = out.send(w, '{"second":1}').then(() => (second = true));
  await tick();
  assert.equal(second, false, 'the channel holds more than the high-water mark');
  w.dc.drain();
  await p;
  assert.equal(w.dc.sent.length, 2);
});

test('a waiting send fails with link_lost when the connection dies', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const out = new Outbox({ remoteId: 'b', highWaterBytes: 10 });
  const w = fakeWire();
  await out.send(w, '{"first":"0123456789"}');
  const p = out.send(w, '{"second":1}');
  await tick();
  w.closed = true;
  t.mock.timers.tick(1_000);
  await assert.rejects(p, isLinkError('link_lost'));
  await assert.rejects(out.send(w, '{}'), isLinkError('link_lost'), 'and so does every send on it after');
});

test('more than maxQueuedBytes waiting is queue_full; one message of any size is taken when nothing waits', async () => {
  const out = new Outbox({ remoteId: 'b', maxQueuedBytes: 100, highWaterBytes: 0 });
  const w = fakeWire();
  w.dc.bufferedAmount = 1; // the channel is busy: everything waits
  const first = out.send(w, 'x'.repeat(150));
  await assert.rejects(out.send(w, '{}'), isLinkError('queue_full'));
  w.dc.drain();
  await first;
  const last = out.send(w, '{}');
  await tick();
  w.dc.drain();
  await last;
});

test('a new connection starts with a resume frame, then resends what the last one never got acknowledged', async () => {
  const out = new Outbox({ remoteId: 'b' });
  const w1 = fakeWire();
  await out.send(w1, '{"n":1}');
  await out.send(w1, '{"n":2}');
  await out.send(w1, '{"n":3}');
  out.ack(1);
  w1.closed = true;
  const w2 = fakeWire();
  assert.equal(out.resume(w2), 2);
  await out.send(w2, '{"n":4}');
  assert.deepEqual(kinds(w2.dc.sent), ['resume', 'text', 'text', 'text']);
  const resume = parseBinaryFrame(w2.dc.sent[0] as Uint8Array<ArrayBuffer>);
  assert.equal(resume.kind === 'resume' && resume.firstSeq, 2, 'numbering continues at the oldest unacknowledged message');
  assert.deepEqual(w2.dc.sent.slice(1), ['{"n":2}', '{"n":3}', '{"n":4}']);
});

test('giving up returns the unconfirmed messages; a confirmed send hears link_lost', async () => {
  const out = new Outbox({ remoteId: 'b' });
  const w = fakeWire();
  await out.send(w, '{"plain":1}');
  const confirmed = out.sendConfirmed(w, '{"confirmed":1}');
  await tick();
  assert.deepEqual(out.giveUp('the peer left'), ['{"plain":1}']);
  await assert.rejects(confirmed, isLinkError('link_lost'));
});

test('with 16 MiB unacknowledged, the next message waits for an ack', async () => {
  const out = new Outbox({ remoteId: 'b', maxQueuedBytes: 64 * MiB, highWaterBytes: 64 * MiB });
  const w = fakeWire();
  const nineMiB = 'x'.repeat(9 * MiB);
  await out.send(w, nineMiB);
  let second = false;
  const p = out.send(w, nineMiB).then(() => (second = true));
  await tick();
  assert.equal(second, false);
  out.ack(1);
  await p;
});
