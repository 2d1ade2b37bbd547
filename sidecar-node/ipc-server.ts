import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { LIMITS } from '../mesh/protocol/limits.ts';
import type { AgentHub, AttachedAgent, IpcLine } from '../mesh/agent-hub.ts';
import type { Logger } from '../mesh/types.ts';
import { LineReader } from './line-reader.ts';

/** Socket write buffer above which the hub queues instead (its queue is bounded). */
const HIGH_WATER = 4 * 1024 * 1024;
/** Lines an agent may send before the peer is ready (registry not reached yet). */
const EARLY_LINES = 1000;

/**
 * The sidecar's Unix socket (docs/sidecar.md, The IPC protocol): JSON lines, mode 0600, a stale socket file replaced.
 * It listens before the registry is reached (the Python MeshClient gives up after 5 s); lines
 * that arrive before the hub exists wait in a bounded buffer and are replayed.
 */
export class IpcServer {
  readonly #path: string;
  readonly #log: Logger;
  #server: Server | null = null;
  #hub: AgentHub | null = null;
  readonly #sockets = new Set<Socket>();
  readonly #waiting = new Map<Socket, { lines: string[]; attach: (hub: AgentHub) => void }>();

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  get path(): string {
    return this.#path;
  }

  async listen(): Promise<void> {
    removeStale(this.#path);
    const server = createServer((s) => this.#accept(s));
    this.#server = server;
    // Create the socket file already private (no window where another user could connect), and
    // listening before it appears under its name: agents wait for the file, then connect once, so
    // bind to a temporary name and rename it into place.
    const tmp = `${this.#path}.${process.pid}.tmp`;
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tmp, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.#path);
    server.on('error', (err) => this.#log.error(`[ipc] server error: ${err.message}`));
  }

  /** The peer is ready: attach every waiting connection and replay what it sent. */
  setHub(hub: AgentHub): void {
    this.#hub = hub;
    for (const [, w] of this.#waiting) w.attach(hub);
    this.#waiting.clear();
  }

  #accept(sock: Socket): void {
    this.#sockets.add(sock);
    let agent: AttachedAgent | null = null;
    let drainCb: (() => void) | null = null;
    const early: string[] = [];
    const send = (line: IpcLine | object): boolean => {
      if (sock.destroyed) return true;
      sock.write(JSON.stringify(line) + '\n');
      return sock.writableLength < HIGH_WATER;
    };
    const attach = (hub: AgentHub) => {
      agent = hub.attach({
        send,
        close: () => sock.end(),
        onDrain: (cb) => (drainCb = cb),
      });
      for (const l of early.splice(0)) agent.receive(l);
    };
    sock.on('drain', () => drainCb?.());
    const reader = new LineReader(
      LIMITS.ipcLineBytes,
      (line) => {
        if (agent) return agent.receive(line);
        if (early.length >= EARLY_LINES) {
          send({ type: 'error', payload: { code: 'not_ready', message: 'the peer is not connected to the registry yet; line dropped' } });
          return;
        }
        early.push(line);
      },
      (bytes) => send({ type: 'error', payload: { code: 'too_large', message: `line of ${bytes} bytes exceeds the limit of ${LIMITS.ipcLineBytes} bytes` } }),
    );
    sock.on('data', (chunk: Buffer) => reader.push(chunk));
    sock.on('error', (err) => this.#log.debug(`[ipc] agent socket error: ${err.message}`));
    sock.on('close', () => {
      this.#sockets.delete(sock);
      this.#waiting.delete(sock);
      agent?.closed();
      this.#log.info('[ipc] agent disconnected');
    });
    this.#log.info('[ipc] agent connected');
    if (this.#hub) attach(this.#hub);
    else this.#waiting.set(sock, { lines: early, attach });
  }

  /** Closes every agent connection and removes the socket file. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    try {
      unlinkSync(this.#path);
    } catch {
      /* already gone */
    }
  }
}

/** Removes a leftover socket file (a crash leaves one); refuses to delete anything that is not a socket. */
function removeStale(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}
