/**
 * How MeshMessages travel on a DataChannel (the contract: docs/protocol.md).
 *
 * - A message that fits one frame is ONE plain JSON text frame, exactly what the Rust sidecar sends
 *   and expects, so the two interoperate.
 * - Anything larger is UTF-8 encoded and split into binary chunk frames (only towards peers that
 *   announced the `chunk` capability). Binary frames start with a 4-byte magic so they can never be
 *   mistaken for JSON text.
 * - Keepalive ping/pong (capability `keepalive`) and the resume/ack frames of acknowledged delivery
 *   (capability `ack`, bookkeeping in link/ledger.ts) are tiny binary frames too, invisible to agents.
 *
 * Chunk frame:  "CXM1" | kind=1 u8 | msgId u32 | totalBytes u32 | offset u32 | data
 * Ping / pong:  "CXM1" | kind=2|3 u8 | nonce u32
 * Resume:       "CXM1" | kind=4 u8 | firstSeq u32 | sessionHi u32 | sessionLo u32
 * Ack:          "CXM1" | kind=5 u8 | seq u32
 * (integers big-endian)
 */
import { LIMITS } from './protocol/index.ts';

export const FRAME_MAGIC = [0x43, 0x58, 0x4d, 0x31] as const; // "CXM1"
export const KIND_CHUNK = 1;
export const KIND_PING = 2;
export const KIND_PONG = 3;
export const KIND_RESUME = 4;
export const KIND_ACK = 5;
const CHUNK_HEADER = 4 + 1 + 4 + 4 + 4;

/** Largest frame we send: the common DataChannel limit minus headroom for SCTP/DCEP framing. */
export const MAX_FRAME_BYTES = LIMITS.dataChannelFrameBytes - 1024;
/** Payload bytes per chunk frame. */
export const CHUNK_BYTES = MAX_FRAME_BYTES - CHUNK_HEADER;

/** Capabilities this core announces in offers/answers; the Rust sidecar announces none. */
export const CAPS = ['chunk', 'keepalive', 'ack'] as const;
/** What a peer may announce: ours, plus `ice_restart` where its WebRTC stack can restart ICE (browsers). */
export type Capability = (typeof CAPS)[number] | 'ice_restart';

/** One DataChannel frame: a JSON text frame or a binary frame of this format. */
export type WireFrame = string | Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class FrameError extends Error {
  constructor(
    readonly code: 'too_large' | 'bad_frame' | 'not_supported',
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Turns a serialized message into frames. Throws FrameError when it exceeds `maxBytes` or needs
 * chunking the remote cannot reassemble.
 */
export function encodeFrames(json: string, msgId: number, maxBytes: number, remoteChunks: boolean): WireFrame[] {
  // Cheap path: 3 bytes per UTF-16 unit is the worst case, so short strings never need encoding.
  if (json.length * 3 <= MAX_FRAME_BYTES) return [json];
  const bytes = encoder.encode(json);
  if (bytes.byteLength > maxBytes) {
    throw new FrameError('too_large', `message of ${bytes.byteLength} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  if (bytes.byteLength <= MAX_FRAME_BYTES) return [json];
  if (!remoteChunks) {
    throw new FrameError(
      'not_supported',
      `message of ${bytes.byteLength} bytes needs chunking, which this peer does not support (limit ${MAX_FRAME_BYTES} bytes)`,
    );
  }
  const frames: Uint8Array<ArrayBuffer>[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_BYTES) {
    const part = bytes.subarray(offset, Math.min(offset + CHUNK_BYTES, bytes.byteLength));
    const frame = new Uint8Array(CHUNK_HEADER + part.byteLength);
    const view = new DataView(frame.buffer);
    frame.set(FRAME_MAGIC, 0);
    view.setUint8(4, KIND_CHUNK);
    view.setUint32(5, msgId);
    view.setUint32(9, bytes.byteLength);
    view.setUint32(13, offset);
    frame.set(part, CHUNK_HEADER);
    frames.push(frame);
  }
  return frames;
}

export function encodeResume(firstSeq: number, session: readonly [number, number]): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(17);
  frame.set(FRAME_MAGIC, 0);
  const view = new DataView(frame.buffer);
  view.setUint8(4, KIND_RESUME);
  view.setUint32(5, firstSeq >>> 0);
  view.setUint32(9, session[0] >>> 0);
  view.setUint32(13, session[1] >>> 0);
  return frame;
}

export function encodeControl(kind: typeof KIND_PING | typeof KIND_PONG | typeof KIND_ACK, nonce: number): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(9);
  frame.set(FRAME_MAGIC, 0);
  const view = new DataView(frame.buffer);
  view.setUint8(4, kind);
  view.setUint32(5, nonce >>> 0);
  return frame;
}

export type BinaryFrame =
  | { kind: 'chunk'; msgId: number; total: number; offset: number; data: Uint8Array }
  | { kind: 'ping'; nonce: number }
  | { kind: 'pong'; nonce: number }
  | { kind: 'ack'; seq: number }
  | { kind: 'resume'; firstSeq: number; session: string };

export function parseBinaryFrame(buf: ArrayBuffer | ArrayBufferView): BinaryFrame {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.byteLength < 9 || FRAME_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FrameError('bad_frame', 'binary frame without the chunk magic');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(4);
  if (kind === KIND_PING) return { kind: 'ping', nonce: view.getUint32(5) };
  if (kind === KIND_PONG) return { kind: 'pong', nonce: view.getUint32(5) };
  if (kind === KIND_ACK) return { kind: 'ack', seq: view.getUint32(5) };
  if (kind === KIND_RESUME && bytes.byteLength >= 17) {
    return { kind: 'resume', firstSeq: view.getUint32(5), session: `${view.getUint32(9)}.${view.getUint32(13)}` };
  }
  if (kind !== KIND_CHUNK || bytes.byteLength < CHUNK_HEADER) throw new FrameError('bad_frame', `unknown binary frame kind ${kind}`);
  return {
    kind: 'chunk',
    msgId: view.getUint32(5),
    total: view.getUint32(9),
    offset: view.getUint32(13),
    data: bytes.subarray(CHUNK_HEADER),
  };
}

/**
 * Puts chunked messages back together. Bounded: a message above `maxBytes` is refused at its
 * first chunk (nothing is buffered for it), and at most `maxPartial` messages are in flight.
 */
export class Reassembler {
  #partial = new Map<number, { buf: Uint8Array; received: number }>();
  #refused = new Set<number>();

  constructor(
    readonly maxBytes: number,
    readonly maxPartial = 8,
  ) {}

  /** Returns the complete JSON text when the last chunk arrives, null before; throws FrameError on bad input. */
  push(f: { msgId: number; total: number; offset: number; data: Uint8Array }): string | null {
    if (this.#refused.has(f.msgId)) {
      if (f.offset + f.data.byteLength >= f.total) this.#refused.delete(f.msgId);
      return null;
    }
    let p = this.#partial.get(f.msgId);
    if (!p) {
      if (f.offset !== 0) throw new FrameError('bad_frame', `chunk of unknown message ${f.msgId} at offset ${f.offset}`);
      if (f.total > this.maxBytes) {
        if (f.data.byteLength < f.total) this.#refused.add(f.msgId);
        throw new FrameError('too_large', `message of ${f.total} bytes exceeds the limit of ${this.maxBytes} bytes`);
      }
      if (this.#partial.size >= this.maxPartial) throw new FrameError('bad_frame', 'too many partial messages at once');
      p = { buf: new Uint8Array(f.total), received: 0 };
      this.#partial.set(f.msgId, p);
    }
    if (f.offset !== p.received || f.total !== p.buf.byteLength || f.offset + f.data.byteLength > f.total) {
      this.#partial.delete(f.msgId);
      throw new FrameError('bad_frame', `chunk out of order for message ${f.msgId}`);
    }
    p.buf.set(f.data, f.offset);
    p.received += f.data.byteLength;
    if (p.received < p.buf.byteLength) return null;
    this.#partial.delete(f.msgId);
    try {
      return decoder.decode(p.buf);
    } catch {
      throw new FrameError('bad_frame', 'reassembled message is not valid UTF-8');
    }
  }

  clear(): void {
    this.#partial.clear();
    this.#refused.clear();
  }
}
