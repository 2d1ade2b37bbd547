import { approxSize, type AgentConnection, type AgentHub, type AttachedAgent, type IpcLine } from '../agent-hub.ts';
import type { AgentTransport } from './transport.ts';

/** The part of MessagePort / Worker / DedicatedWorkerGlobalScope the IPC needs. */
export interface PortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', fn: (ev: MessageEvent) => void): void;
  removeEventListener?(type: 'message', fn: (ev: MessageEvent) => void): void;
}

/*
 * Flow control on the port. postMessage never pushes back, so a busy worker would let the tab's
 * lines pile up in its event queue without limit. The worker therefore returns credit for the
 * lines it has handed to its agent, as a port-level frame `{ credit: n }`: it has no `type`, so it
 * is never an IPC line (the IPC lines of docs/sidecar.md are unchanged) and the tab takes it out before the hub.
 * The worker's first frame is `{ credit: 0 }` (hello): only then does the tab hold lines back, so
 * a worker that speaks raw lines and never returns credit works as before (unbounded).
 */
export interface CreditFrame {
  credit: number;
}

/** Checked by hand, not by a schema: it runs for every line a worker posts. */
export function isCreditFrame(d: unknown): d is CreditFrame {
  if (!(d instanceof Object) || 'type' in d || !('credit' in d)) return false;
  return typeof d.credit === 'number' && Number.isInteger(d.credit) && d.credit >= 0;
}

/** Credit goes back at least every this many lines, else once the current burst of messages is handled. */
const CREDIT_BATCH = 32;

/**
 * Worker side: the agent's transport over `self` (a dedicated worker) or a MessagePort. Create it
 * before the port delivers anything: the tab counts every line it posted, and a line this
 * transport never saw is never credited.
 */
export function portTransport(port: PortLike & { close?: () => void }): AgentTransport {
  const lineFns: ((line: unknown) => void)[] = [];
  const closeFns: (() => void)[] = [];
  let owed = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (owed === 0) return;
    port.postMessage({ credit: owed } satisfies CreditFrame);
    owed = 0;
  };
  const onMessage = (ev: MessageEvent) => {
    try {
      for (const fn of lineFns) fn(ev.data);
    } finally {
      // Credited once handed over (a handler that throws must not shrink the window for good).
      if (++owed >= CREDIT_BATCH) flush();
      else timer ??= setTimeout(flush, 0);
    }
  };
  return {
    send: (line) => port.postMessage(line),
    onLine: (cb) => {
      if (lineFns.push(cb) > 1) return;
      port.postMessage({ credit: 0 } satisfies CreditFrame); // hello: we return credit
      port.addEventListener('message', onMessage);
    },
    onClose: (cb) => closeFns.push(cb),
    close: () => {
      clearTimeout(timer);
      port.removeEventListener?.('message', onMessage);
      port.close?.();
      for (const fn of closeFns) fn();
    },
  };
}

export interface PortFlowOptions {
  /** Lines posted to the worker and not yet credited back before `send` reports full (default 256). */
  maxInFlightLines?: number;
  /** The same in approximate bytes (default 8 MiB). */
  maxInFlightBytes?: number;
}

/** What is on its way to the worker (for tests and diagnostics). */
export interface PortFlow {
  /** The worker said hello: `send` reports full at the window. */
  credit: boolean;
  lines: number;
  bytes: number;
}

/**
 * Tab side: attaches a worker (or port) to the hub. With a worker that returns credit, `send`
 * reports full once the in-flight window is reached; the hub then queues (bounded, then
 * `queue_overflow`) until credit comes back and it is told to drain. Call `detach()` when the
 * worker is terminated.
 */
export function attachPort(
  hub: AgentHub,
  port: PortLike,
  terminate?: () => void,
  opts: PortFlowOptions = {},
): { agent: AttachedAgent; detach: () => void; flow: () => PortFlow } {
  const maxLines = opts.maxInFlightLines ?? 256;
  const maxBytes = opts.maxInFlightBytes ?? 8 * 1024 * 1024;
  let credit = false;
  let lines = 0;
  let bytes = 0;
  // Lines posted before the hello: counted (the worker will credit them) but not sized, so an old
  // worker that never credits costs a counter, not a growing list.
  let unsized = 0;
  const sizes: number[] = []; // per line in flight after the hello, oldest first (ports keep order)
  let full = false;
  let drain: (() => void) | undefined;
  const conn: AgentConnection = {
    send: (line: IpcLine) => {
      port.postMessage(line);
      lines++;
      if (!credit) {
        unsized++;
        return true;
      }
      const n = approxSize(line);
      sizes.push(n);
      bytes += n;
      full = lines >= maxLines || bytes >= maxBytes;
      return !full;
    },
    close: () => terminate?.(),
    onDrain: (cb) => void (drain = cb),
  };
  const agent = hub.attach(conn);
  const onCredit = (n: number) => {
    credit = true;
    // More credit than lines (something else posted on a shared port) is ignored, never negative.
    for (; n > 0 && lines > 0; n--, lines--) {
      if (unsized > 0) unsized--;
      else bytes -= sizes.shift()!;
    }
    if (full && lines < maxLines && bytes < maxBytes) {
      full = false;
      drain?.();
    }
  };
  const onMessage = (ev: MessageEvent) => (isCreditFrame(ev.data) ? onCredit(ev.data.credit) : agent.receive(ev.data));
  port.addEventListener('message', onMessage);
  return {
    agent,
    detach: () => {
      port.removeEventListener?.('message', onMessage);
      agent.closed();
    },
    flow: () => ({ credit, lines, bytes }),
  };
}
