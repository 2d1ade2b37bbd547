import { encodeControl, KIND_PING, type WireFrame } from '../framing.ts';

export interface KeepaliveOptions {
  /** Interval between pings (default 2.5 s). */
  everyMs?: number | undefined;
  /** No frame from the remote for this long = silent (default 12 s). */
  deadAfterMs?: number | undefined;
}

/**
 * Liveness of a link (capability `keepalive`, docs/protocol.md): when the remote was last heard,
 * pings every `everyMs`, the round-trip time from the pongs, and quick probes. While nothing
 * arrives for `deadAfterMs`, every tick reports the link silent (the link then recovers it).
 */
export class Keepalive {
  readonly everyMs: number;
  readonly deadAfterMs: number;
  #lastRecv = 0;
  #nonce = 0;
  readonly #sentAt = new Map<number, number>();
  #rttMs: number | undefined;
  #send: ((frame: WireFrame) => void) | null = null;
  #interval: ReturnType<typeof setInterval> | null = null;
  #probe: ReturnType<typeof setTimeout> | null = null;

  constructor(o: KeepaliveOptions = {}) {
    this.everyMs = o.everyMs ?? 2_500;
    this.deadAfterMs = o.deadAfterMs ?? 12_000;
  }

  /** The last measured round trip of a ping, in ms. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  get running(): boolean {
    return this.#send !== null;
  }

  /** A frame arrived (any frame, or a connection just opened): the remote is alive; a probe is answered. */
  received(): void {
    this.#lastRecv = Date.now();
    this.#endProbe();
  }

  /** Starts pinging over `send` at once and every `everyMs`; `silent` hears how long nothing arrived. */
  start(send: (frame: WireFrame) => void, silent: (quietMs: number) => void): void {
    this.stop();
    this.#send = send;
    this.#interval = setInterval(() => {
      const quiet = Date.now() - this.#lastRecv;
      // Keep pinging while the link recovers: the first frame back is what ends the recovery.
      if (quiet > this.deadAfterMs) silent(quiet);
      send(this.#ping());
    }, this.everyMs);
    send(this.#ping());
  }

  /** Stops pinging and forgets a pending probe (the connection is gone). */
  stop(): void {
    if (this.#interval) clearInterval(this.#interval);
    this.#interval = null;
    this.#send = null;
    this.#endProbe();
  }

  /** The remote answered a ping. */
  pong(nonce: number): void {
    const at = this.#sentAt.get(nonce);
    if (at === undefined) return;
    this.#rttMs = Date.now() - at;
    this.#sentAt.delete(nonce);
  }

  /**
   * Checks quickly whether the remote is still there (e.g. after its signaling socket closed):
   * pings now and calls `unanswered` when no frame arrives within `deadlineMs`. Only while running.
   */
  probe(deadlineMs: number, unanswered: () => void): void {
    if (!this.#send || this.#probe) return;
    const sentAt = Date.now();
    this.#send(this.#ping());
    this.#probe = setTimeout(() => {
      this.#probe = null;
      if (this.#lastRecv < sentAt) unanswered();
    }, deadlineMs);
  }

  #ping(): WireFrame {
    const nonce = ++this.#nonce >>> 0;
    this.#sentAt.set(nonce, Date.now());
    if (this.#sentAt.size > 16) this.#sentAt.delete(this.#sentAt.keys().next().value!);
    return encodeControl(KIND_PING, nonce);
  }

  #endProbe(): void {
    if (this.#probe) clearTimeout(this.#probe);
    this.#probe = null;
  }
}
