import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHUNK_BYTES,
  encodeControl,
  encodeFrames,
  encodeResume,
  FrameError,
  KIND_ACK,
  KIND_PING,
  KIND_PONG,
  MAX_FRAME_BYTES,
  parseBinaryFrame,
  Reassembler,
  type BinaryFrame,
} from './framing.ts';

const MiB = 1024 * 1024;

function chunks(frames: ReturnType<typeof encodeFrames>): Extract<BinaryFrame, { kind: 'chunk' }>[] {
  return frames.map((f) => {
    assert.ok(typeof f !== 'string', 'a chunked message has binary frames only');
    const p = parseBinaryFrame(f);
    if (p.kind !== 'chunk') throw new Error(`expected a chunk frame, got ${p.kind}`);
    return p;
  });
}

test('a message that fits one frame is one plain JSON text frame (what the Rust sidecar sends)', () => {
  const json = JSON.stringify({ type: 'hello', payload: { n: 1 } });
  assert.deepEqual(encodeFrames(json, 1, 64 * MiB, false), [json]);
  // Multi-byte text near the limit: measured in UTF-8 bytes, not in characters.
  const wide = 'é'.repeat(Math.floor(MAX_FRAME_BYTES / 2));
  assert.deepEqual(encodeFrames(wide, 2, 64 * MiB, false), [wide]);
});

test('a larger message becomes chunk frames with magic, kind, id, total and offsets, and reassembles exactly', () => {
  // 'é' is 2 bytes: chunk borders fall inside characters, which reassembly must survive.
  const json = JSON.stringify({ data: 'aé'.repeat(300_000) });
  const total = new TextEncoder().encode(json).byteLength;
  const frames = encodeFrames(json, 7, 64 * MiB, true);
  assert.equal(frames.length, Math.ceil(total / CHUNK_BYTES));
  const raw = frames[0] as Uint8Array;
  assert.deepEqual([...raw.subarray(0, 5)], [0x43, 0x58, 0x4d, 0x31, 1], '"CXM1" then kind 1');
  const parsed = chunks(frames);
  assert.deepEqual(
    parsed.map((c) => c.offset),
    parsed.map((_, i) => i * CHUNK_BYTES),
  );
  assert.ok(parsed.every((c) => c.msgId === 7 && c.total === total));
  assert.ok(frames.every((f) => (f as Uint8Array).byteLength <= MAX_FRAME_BYTES));

  const r = new Reassembler(64 * MiB);
  const out = parsed.map((c) => r.push(c));
  assert.ok(
    out.slice(0, -1).every((t) => t === null),
    'nothing before the last chunk',
  );
  assert.equal(out.at(-1), json);
});

test('a message above the limit is too_large; one that needs chunking towards a peer without it is not_supported', () => {
  const big = 'x'.repeat(2 * MiB);
  assert.throws(
    () => encodeFrames(big, 1, MiB, true),
    (e: unknown) => e instanceof FrameError && e.code === 'too_large',
  );
  assert.throws(
    () => encodeFrames(big, 1, 64 * MiB, false),
    (e: unknown) => e instanceof FrameError && e.code === 'not_supported',
  );
});

test('control frames: ping, pong, ack and resume round-trip through parseBinaryFrame', () => {
  assert.deepEqual(parseBinaryFrame(encodeControl(KIND_PING, 42)), { kind: 'ping', nonce: 42 });
  assert.deepEqual(parseBinaryFrame(encodeControl(KIND_PONG, 0xffffffff)), { kind: 'pong', nonce: 0xffffffff });
  assert.deepEqual(parseBinaryFrame(encodeControl(KIND_ACK, 9)), { kind: 'ack', seq: 9 });
  assert.deepEqual(parseBinaryFrame(encodeResume(5, [1, 2])), { kind: 'resume', firstSeq: 5, session: '1.2' });
  // An ArrayBuffer (what a channel with binaryType 'arraybuffer' delivers) and a view into a larger buffer.
  assert.deepEqual(parseBinaryFrame(encodeControl(KIND_ACK, 3).buffer), { kind: 'ack', seq: 3 });
  const padded = new Uint8Array(20);
  padded.set(encodeControl(KIND_PING, 8), 4);
  assert.deepEqual(parseBinaryFrame(padded.subarray(4, 13)), { kind: 'ping', nonce: 8 });
});

test('binary frames without the magic, too short, or of an unknown kind are bad_frame', () => {
  const bad = (b: Uint8Array) =>
    assert.throws(
      () => parseBinaryFrame(b),
      (e: unknown) => e instanceof FrameError && e.code === 'bad_frame',
    );
  bad(new Uint8Array([1, 2, 3, 4, 2, 0, 0, 0, 1]));
  bad(new Uint8Array([0x43, 0x58, 0x4d, 0x31, 2]));
  bad(new Uint8Array([0x43, 0x58, 0x4d, 0x31, 9, 0, 0, 0, 1]));
  bad(new Uint8Array([0x43, 0x58, 0x4d, 0x31, 4, 0, 0, 0, 1])); // resume shorter than 17 bytes
});

test('the reassembler refuses a message above its limit at the first chunk and swallows the rest of it', () => {
  const json = 'y'.repeat(3 * CHUNK_BYTES);
  const parsed = chunks(encodeFrames(json, 3, 64 * MiB, true));
  const r = new Reassembler(CHUNK_BYTES);
  assert.throws(
    () => r.push(parsed[0]!),
    (e: unknown) => e instanceof FrameError && e.code === 'too_large',
  );
  assert.equal(r.push(parsed[1]!), null, 'later chunks of a refused message are dropped quietly');
  assert.equal(r.push(parsed[2]!), null);
  // After its last chunk the id is forgotten: a new message with it starts clean.
  const small = chunks(encodeFrames('z'.repeat(2 * CHUNK_BYTES + 1), 3, 64 * MiB, true));
  const r2 = new Reassembler(64 * MiB);
  assert.equal(r2.push(small[0]!), null);
  assert.equal(r2.push(small[1]!), null);
  assert.equal(r2.push(small[2]!), 'z'.repeat(2 * CHUNK_BYTES + 1));
});

test('the reassembler refuses chunks out of order, of unknown messages, too many partial messages, and bad UTF-8', () => {
  const a = chunks(encodeFrames('a'.repeat(2 * CHUNK_BYTES), 1, 64 * MiB, true));
  const isBad = (e: unknown) => e instanceof FrameError && e.code === 'bad_frame';
  assert.throws(() => new Reassembler(64 * MiB).push(a[1]!), isBad, 'a middle chunk of a message never started');
  const r = new Reassembler(64 * MiB);
  r.push(a[0]!);
  assert.throws(() => r.push(a[0]!), isBad, 'the same offset twice');

  const few = new Reassembler(64 * MiB, 2);
  for (const id of [1, 2]) few.push({ ...a[0]!, msgId: id });
  assert.throws(() => few.push({ ...a[0]!, msgId: 3 }), isBad, 'a third partial message');
  few.clear();
  assert.equal(few.push({ ...a[0]!, msgId: 3 }), null, 'clear() forgets the partial messages');

  const invalid = new Uint8Array([0xff, 0xfe]);
  assert.throws(() => new Reassembler(64).push({ msgId: 1, total: 2, offset: 0, data: invalid }), isBad);
});
