/**
 * The one place the registry writes WebSocket frames around `ws`: a notice for many sockets is
 * framed once (Broadcast) and written to each TCP socket directly, with the socket corked for a
 * turn's frames. Registering N peers otherwise costs N² ws.send calls and small writes (measured in
 * the registry-load benchmark). It relies on `ws` internals, so it is used only with a `ws` major
 * version checked here and only when ws would send the frame unchanged; otherwise callers fall
 * back to ws.send, which is slower but always right.
 */
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** The `ws` major versions whose server keeps its net.Socket as `_socket` (checked by raw-frames.test.ts). */
const KNOWN_WS_MAJORS = new Set([8]);
const wsMajor = Number(String(Reflect.get(createRequire(import.meta.url)('ws/package.json'), 'version')).split('.')[0]);
export const rawWritesSupported = KNOWN_WS_MAJORS.has(wsMajor);

/**
 * A registry notice sent to many sockets: its JSON once, and the same as a complete WebSocket text
 * frame (FIN, opcode 1, unmasked as server frames are), so each recipient costs a memcpy, not a
 * ws.send. Still one frame per notice on the wire.
 */
export class Broadcast {
  readonly frame: Buffer;
  constructor(readonly text: string) {
    const payload = Buffer.from(text);
    const n = payload.length;
    const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
    this.frame = Buffer.allocUnsafe(head + n);
    this.frame[0] = 0x81;
    if (n < 126) this.frame[1] = n;
    else if (n < 65536) (this.frame[1] = 126), this.frame.writeUInt16BE(n, 2);
    else (this.frame[1] = 127), this.frame.writeBigUInt64BE(BigInt(n), 2);
    payload.copy(this.frame, head);
  }
}

/** The TCP socket under a server-side `ws` socket, for corking; undefined when ws is not a known version. */
export function tcpSocketOf(ws: WebSocket): Socket | undefined {
  if (!rawWritesSupported) return undefined;
  const tcp: unknown = Reflect.get(ws, '_socket');
  return tcp instanceof Socket ? tcp : undefined;
}

/** The socket prebuilt frames may be written to: only when ws would not transform them (no permessage-deflate). */
export function rawFrameSink(ws: WebSocket): Socket | undefined {
  return ws.extensions === '' ? tcpSocketOf(ws) : undefined;
}
