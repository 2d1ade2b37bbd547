import type { Logger, SkillInfo } from '../types.ts';
import type { BackedBy, MeshMessage } from '../protocol/index.ts';

/** One IPC line, as an object (the socket transport adds JSON + newline). */
export interface IpcLine {
  type: string;
  payload: Record<string, unknown>;
}

/**
 * A connection to one local agent, whatever carries it (Unix socket line, worker postMessage).
 * `send` returns false when the transport's own buffer is full; the hub then queues (bounded)
 * and waits for `onDrain`.
 */
export interface AgentConnection {
  send(line: IpcLine): boolean;
  close(): void;
  onDrain?(cb: () => void): void;
}

/** The queue bounds (AgentHubOptions), read at each overflow check. */
export interface QueueBounds {
  /** Lines queued per agent before overflow (default 1000). */
  maxQueuedLines?: number;
  /** Bytes (JSON chars) queued per agent before overflow (default 128 MiB). */
  maxQueuedBytes?: number;
}

/**
 * One agent attached to the hub: what it registered, and its bounded queue. An agent that does
 * not read loses lines (counted, then told with one `error {code: "queue_overflow"}` line) while
 * the mesh and the other agents carry on.
 */
export class LocalAgent {
  name: string | undefined;
  skills: SkillInfo[] = [];
  backedBy: BackedBy | undefined;
  open = true;
  readonly #queue: { line: IpcLine; size: number; onDrop?: () => void }[] = [];
  #queuedBytes = 0;
  #blocked = false;
  #dropped = 0;
  readonly #bounds: QueueBounds;
  readonly #log: Logger;

  constructor(
    readonly id: number,
    readonly conn: AgentConnection,
    bounds: QueueBounds,
    log: Logger,
  ) {
    this.#bounds = bounds;
    this.#log = log;
  }

  /** Writes the line now if the transport takes it, else queues it; `onDrop` runs when the queue is full. */
  enqueue(line: IpcLine, onDrop?: () => void): void {
    if (!this.open) return;
    if (!this.#blocked && this.#queue.length === 0) {
      if (!this.#write(line)) this.#blocked = true;
      return;
    }
    const size = approxSize(line);
    const maxLines = this.#bounds.maxQueuedLines ?? 1000;
    const maxBytes = this.#bounds.maxQueuedBytes ?? 128 * 1024 * 1024;
    if (this.#queue.length >= maxLines || this.#queuedBytes + size > maxBytes) {
      this.#dropped++;
      this.#log.warn(`[hub] agent ${this.name ?? this.id} is not reading; dropped a ${line.type} line`);
      onDrop?.();
      return;
    }
    this.#queue.push({ line, size, ...(onDrop && { onDrop }) });
    this.#queuedBytes += size;
  }

  /** An `error` line to this agent (the message cut to 4000 chars). */
  error(code: string, message: string, extra: Record<string, unknown> = {}): void {
    this.enqueue({ type: 'error', payload: { code, message: message.slice(0, 4000), ...extra } });
  }

  /** The transport drained: the overflow notice first, then the queue until the transport is full again. */
  flush(): void {
    this.#blocked = false;
    if (this.#dropped > 0) {
      const n = this.#dropped;
      this.#dropped = 0;
      const ok = this.#write({
        type: 'error',
        payload: { code: 'queue_overflow', message: `${n} message(s) were dropped because this agent did not read fast enough` },
      });
      if (!ok) return void (this.#blocked = true);
    }
    while (this.#queue.length && this.open) {
      const item = this.#queue.shift()!;
      this.#queuedBytes -= item.size;
      if (!this.#write(item.line)) return void (this.#blocked = true);
    }
  }

  #write(line: IpcLine): boolean {
    try {
      return this.conn.send(line);
    } catch (err) {
      this.#log.warn(`[hub] writing to agent ${this.name ?? this.id} failed: ${String(err)}`);
      return true;
    }
  }
}

export function messageLine(fromPeer: string, message: MeshMessage): IpcLine {
  return { type: 'message', payload: { from_peer: fromPeer, message } };
}

/** Approximate size of a line (JSON chars) without serializing it: the per-agent queue bound and the worker port's in-flight window. */
export function approxSize(line: IpcLine): number {
  const m: unknown = line.payload.message;
  if (m instanceof Object && 'payload' in m && typeof m.payload === 'object') {
    // Cheap estimate without serializing: strings dominate big messages.
    let n = 256;
    const stack: unknown[] = [m.payload];
    let budget = 10_000;
    while (stack.length && budget-- > 0) {
      const v = stack.pop();
      if (typeof v === 'string') n += v.length;
      else if (v && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
      else n += 8;
    }
    return n;
  }
  return 256;
}
