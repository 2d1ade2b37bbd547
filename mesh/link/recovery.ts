import type { Capability } from '../framing.ts';

/** The connection as recovery sees it (link/connection.ts's Connection fits). */
export interface Recoverable {
  readonly closed: boolean;
  /** The DataChannel opened on it at least once. */
  readonly opened: boolean;
  readonly role: 'offerer' | 'answerer';
  readonly connectionState: RTCPeerConnectionState;
  has(cap: Capability): boolean;
  /** A timer that dies with the connection. */
  timer(ms: number, fn: () => void): void;
  /** Sends an ICE-restart offer on this connection. */
  restartIce(): Promise<void>;
}

export interface RecoveryOptions {
  /** Whether our WebRTC stack can restart ICE (browsers; libdatachannel's polyfill cannot). */
  iceRestart: boolean;
  /** How long a restart may take until the first frame arrives again. */
  timeoutMs: number;
  /** How long `disconnected` may last before recovery starts. */
  disconnectedGraceMs: number;
  /** Give up on this connection (the link dials a fresh one). */
  fail(why: string): void;
  /** A recovery in place started. */
  reconnecting(why: string): void;
  /** A frame arrived again after an ICE restart: same connection, same channel. */
  recovered(afterMs: number): void;
}

/**
 * ICE-restart recovery of one connection. When it fails, stays `disconnected`, or goes quiet, the
 * connection is first recovered in place where both ends can restart ICE (the offerer sends the
 * restart offer, the answerer waits for it); it counts as recovered only when a frame arrives
 * again, not when ICE says "connected". Otherwise — or when that takes longer than `timeoutMs` —
 * the link gives up on the connection and dials a fresh one.
 */
export class Recovery {
  readonly #c: Recoverable;
  readonly #o: RecoveryOptions;
  /** Start time of the recovery under way, null when none is. */
  #since: number | null = null;
  #generation = 0;

  constructor(conn: Recoverable, o: RecoveryOptions) {
    this.#c = conn;
    this.#o = o;
  }

  get recovering(): boolean {
    return this.#since !== null;
  }

  /** The RTCPeerConnection's `connectionState` changed. */
  onConnectionState(): void {
    const c = this.#c;
    if (c.closed) return;
    const s = c.connectionState;
    if (s === 'failed') this.recover('connection failed');
    else if (s === 'disconnected') {
      // Often transient (a few seconds of packet loss): SCTP retransmits whatever was buffered once
      // the path returns, so give it as long as the keepalive would before starting over.
      c.timer(this.#o.disconnectedGraceMs, () => {
        if (c.connectionState === 'disconnected') this.recover('connection disconnected');
      });
    } else if (s === 'closed') this.#o.fail('connection closed');
  }

  /** Starts recovery (once at a time): an ICE restart where both ends can, else a fresh connection. */
  recover(why: string): void {
    const c = this.#c;
    if (c.closed || this.#since !== null) return;
    if (!(this.#o.iceRestart && c.opened && c.has('ice_restart'))) return this.#o.fail(why);
    this.#since = Date.now();
    const generation = ++this.#generation;
    this.#o.reconnecting(why);
    c.timer(this.#o.timeoutMs, () => {
      if (this.#since !== null && this.#generation === generation) this.#o.fail(`${why}; ICE restart did not help`);
    });
    if (c.role !== 'offerer') return;
    c.restartIce().catch((err: unknown) => this.#o.fail(`${why}; ICE restart impossible: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** A frame arrived on the connection: ends a recovery under way. */
  frameArrived(): void {
    if (this.#since === null) return;
    const ms = Date.now() - this.#since;
    this.#since = null;
    this.#o.recovered(ms);
  }
}
