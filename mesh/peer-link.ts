import { Emitter } from './emitter.ts';
import { CAPS, encodeControl, FrameError, KIND_PONG, parseBinaryFrame, type Capability } from './framing.ts';
import { randomId } from './ids.ts';
import { Connection, offerAction, type LinkSignal, type Role } from './link/connection.ts';
import { IdentityGate, type LinkAuth } from './link/identity-gate.ts';
import { Keepalive } from './link/keepalive.ts';
import { Inbox } from './link/inbox.ts';
import { LinkError } from './link/link-error.ts';
import { Outbox, sendNow } from './link/outbox.ts';
import { Recovery } from './link/recovery.ts';
import { Redial } from './link/redial.ts';
import { readPath } from './stats.ts';
import { quietLogger, type LinkState, type Logger, type PathType, type RTCPeerConnectionCtor } from './types.ts';
import { LIMITS, type SignalMessage } from './protocol/index.ts';

export { LinkError };
export type { LinkAuth, LinkSignal };

export interface PeerLinkOptions {
  localId: string;
  remoteId: string;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** ICE servers and policy for each new RTCPeerConnection (fetched fresh: TURN credentials expire). */
  rtcConfig: () => RTCConfiguration;
  /** Sends an offer / answer / ice_candidate to the remote; false when signaling is down. */
  signal: LinkSignal;
  /** Whether to keep trying after a failure (the mesh says: the remote is still registered). */
  shouldRedial: () => boolean;
  logger?: Logger;
  /** Offer → open deadline for one attempt (and for an ICE restart). node↔node DTLS stalls happen; a retry fixes them. */
  connectTimeoutMs?: number;
  /** Idle interval between keepalive pings (extended peers only). */
  keepaliveMs?: number;
  /** No frame from the remote for this long = the link is dead. */
  deadAfterMs?: number;
  /** How long `disconnected` may last before we call it failed. */
  disconnectedGraceMs?: number;
  /** Try ICE restart before a fresh connection (browsers; libdatachannel's polyfill cannot). */
  iceRestart?: boolean;
  maxMessageBytes?: number;
  /** bufferedAmount above which senders wait for `bufferedamountlow`. */
  highWaterBytes?: number;
  /**
   * Message bytes waiting for the channel before `send` fails with `queue_full` (default 16 MiB;
   * one message of any allowed size is always taken when nothing waits). Kept small: whatever
   * waits here is held in memory, and a sidecar on a Pi has little of it.
   */
  maxQueuedBytes?: number;
  /** Optional proof of identity exchanged as the first frame each way before the link counts as open. */
  linkAuth?: LinkAuth;
}

export type PeerLinkEvents = {
  /** The DataChannel is open (first time or after a reconnect). */
  open: [];
  /** An open link went down (it may come back on its own). */
  down: [reason: string];
  /** One complete MeshMessage text, or a frame-level error to report. */
  message: [text: string];
  frame_error: [err: FrameError];
  state: [state: LinkState];
  /** The identity check failed (ours of the remote, or the remote's of us). */
  refused: [reason: string, message: string];
  /** Unacknowledged messages sent again over a new connection. */
  resent: [count: number];
  /** The connection recovered in place by an ICE restart (same DataChannel, nothing resent). */
  restarted: [];
  /** Messages handed to a channel whose delivery was never acknowledged, given up on (link closed for good). */
  undelivered: [messages: string[], reason: string];
};

/** One connection attempt and the helpers that live and die with it. */
interface Attempt {
  readonly conn: Connection;
  readonly recovery: Recovery;
  /** The identity check while it has not passed; null = none configured, or passed. */
  gate: IdentityGate | null;
}

/**
 * The link to one remote peer: one ordered, reliable DataChannel over one RTCPeerConnection, and
 * everything needed to keep it up. It composes one unit per job (mesh/link/): the connection and
 * its negotiation, ICE-restart recovery, the identity gate, acknowledged delivery (outbox +
 * inbox) and keepalive/redial; this class holds the state and routes frames between them.
 *
 * Roles: whoever dials sends an offer carrying a fresh connection id (`conn`). An offer with the id
 * of the current connection is a renegotiation (ICE restart); any other id means "start over".
 * Glare (both dial at once): the offer of the peer with the lower id wins, the other side drops
 * its own attempt and answers. Offers without `conn` (the Rust sidecar) are fresh connections.
 */
export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly remoteId: string;
  readonly #o: PeerLinkOptions;
  readonly #log: Logger;
  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  readonly #keepalive: Keepalive;
  readonly #redial: Redial;
  #attempt: Attempt | null = null;
  #state: LinkState = 'new';
  #closed = false;

  constructor(opts: PeerLinkOptions) {
    super();
    this.#o = opts;
    this.remoteId = opts.remoteId;
    this.#log = opts.logger ?? quietLogger;
    const maxMessageBytes = opts.maxMessageBytes ?? LIMITS.meshMessageBytes;
    this.#inbox = new Inbox(maxMessageBytes);
    this.#outbox = new Outbox({ remoteId: opts.remoteId, maxMessageBytes, maxQueuedBytes: opts.maxQueuedBytes, highWaterBytes: opts.highWaterBytes });
    this.#keepalive = new Keepalive({ everyMs: opts.keepaliveMs, deadAfterMs: opts.deadAfterMs });
    this.#redial = new Redial(opts.localId < opts.remoteId ? 0 : 1_000);
  }

  get state(): LinkState {
    return this.#state;
  }
  get isOpen(): boolean {
    return this.#state === 'open';
  }
  /** Whether the remote runs this core (chunking + keepalive); false for the Rust sidecar. */
  get extended(): boolean {
    return this.#attempt?.conn.has('chunk') ?? false;
  }
  /** Whether an attempt is under way or open. */
  get active(): boolean {
    return this.#attempt !== null;
  }
  get connectionId(): string | undefined {
    return this.#attempt?.conn.connId;
  }

  /** Starts a fresh connection as the offerer unless one is under way or open. */
  dial(): void {
    if (this.#closed || this.#attempt) return;
    this.#redial.cancel();
    void this.#offer();
  }

  /** Applies an offer / answer / ice_candidate from the remote. */
  async handleSignal(msg: SignalMessage<'offer' | 'answer' | 'ice_candidate'>): Promise<void> {
    if (this.#closed) return;
    try {
      if (msg.type === 'offer') await this.#onOffer(msg.payload);
      else if (msg.type === 'answer') await this.#attempt?.conn.applyAnswer(msg.payload.sdp, msg.payload.conn, msg.payload.caps ?? []);
      else await this.#attempt?.conn.addCandidate(msg.payload);
    } catch (err) {
      this.#log.warn(`[link ${this.remoteId}] ${msg.type} failed: ${errText(err)}`);
      if (this.#attempt && msg.type !== 'ice_candidate') this.#fail(this.#attempt, `${msg.type} failed`);
    }
  }

  /**
   * Sends one serialized MeshMessage. Resolves once every frame is handed to the channel, waiting
   * on `bufferedamountlow` whenever the channel holds more than the high-water mark. Rejects when
   * the link is not open, goes down meanwhile, or the message is too large.
   */
  send(json: string): Promise<void> {
    const conn = this.#openConnection();
    return conn ? this.#outbox.send(conn, json) : Promise.reject(this.#notConnected());
  }

  /**
   * Like `send`, but resolves only once the remote peer acknowledged the message (`'peer'`) —
   * across reconnections and resends — or, on a link that cannot acknowledge (a Rust peer), once
   * it is handed to the channel (`'sent'`). Rejects with `link_lost` when the mesh gives up on it;
   * such a message is not reported again as `undelivered`.
   */
  sendConfirmed(json: string): Promise<'peer' | 'sent'> {
    const conn = this.#openConnection();
    return conn ? this.#outbox.sendConfirmed(conn, json) : Promise.reject(this.#notConnected());
  }

  /** The current connection if the link is open for sending. */
  #openConnection(): Connection | null {
    const conn = this.#attempt?.conn;
    return conn?.opened && conn.dc && this.#state === 'open' ? conn : null;
  }

  #notConnected(): LinkError {
    return new LinkError('not_connected', `no open link to ${this.remoteId}`);
  }

  /**
   * Checks quickly whether the remote is still there (e.g. after its signaling socket closed):
   * fails the link when no frame arrives within `deadlineMs`. Only for extended peers.
   */
  probe(deadlineMs = 4_000): void {
    const a = this.#attempt;
    if (!a?.conn.opened) return;
    this.#keepalive.probe(deadlineMs, () => {
      if (this.#attempt === a) this.#fail(a, 'probe unanswered');
    });
  }

  /** Stops retrying; the link stays usable if it is open (used when the remote left signaling). */
  cancelRedial(): void {
    this.#redial.cancel();
    if (!this.#attempt) this.#end();
  }

  /** Closes the link for good. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#redial.cancel();
    if (this.#attempt) this.#teardown(this.#attempt, 'closed');
    this.#setState('closed');
    this.#giveUp('link closed');
  }

  /** Selected candidate pair type and RTT (keepalive RTT when known, else getStats). */
  async stats(): Promise<{ path: PathType; rtt_ms?: number }> {
    const a = this.#attempt;
    if (!a?.conn.opened) return { path: 'unknown' };
    const s = await readPath(a.conn.pc).catch(() => ({ path: 'unknown' as PathType, rtt_ms: undefined }));
    const rtt = this.#keepalive.rttMs ?? s.rtt_ms;
    return rtt === undefined ? { path: s.path } : { path: s.path, rtt_ms: rtt };
  }

  // ─── connections ─────────────────────────────────────────────────────

  async #offer(): Promise<void> {
    const a = this.#connect('offerer', randomId());
    try {
      await a.conn.offer();
      if (!a.conn.closed) this.#log.debug(`[link ${this.remoteId}] offer ${a.conn.connId} sent`);
    } catch (err) {
      this.#fail(a, `offer failed: ${errText(err)}`);
    }
  }

  async #onOffer(p: SignalMessage<'offer'>['payload']): Promise<void> {
    const cur = this.#attempt;
    const action = offerAction(cur?.conn ?? null, p.conn, this.#o.localId, this.remoteId);
    if (cur && action === 'renegotiate') return cur.conn.renegotiate(p.sdp);
    if (cur && action === 'keep_ours') return this.#log.debug(`[link ${this.remoteId}] glare: keeping our offer ${cur.conn.connId}`);
    if (cur) this.#teardown(cur, 'replaced by a new connection from the remote');
    this.#redial.cancel();
    const a = this.#connect('answerer', p.conn ?? randomId());
    await a.conn.answer(p.sdp, p.caps ?? [], p.conn !== undefined);
  }

  /** Starts a new attempt (it becomes the current one) with its recovery and connect deadline. */
  #connect(role: Role, connId: string): Attempt {
    const timeoutMs = this.#o.connectTimeoutMs ?? 10_000;
    const conn: Connection = new Connection({
      connId,
      role,
      RTCPeerConnection: this.#o.RTCPeerConnection,
      rtcConfig: this.#o.rtcConfig(),
      signal: this.#o.signal,
      caps: this.#caps(),
      lowWaterBytes: this.#outbox.lowWaterBytes,
      onChannel: (dc) => this.#wireChannel(a, dc),
      onStateChange: () => {
        this.#log.debug(`[link ${this.remoteId}] pc ${connId} ${conn.connectionState}`);
        a.recovery.onConnectionState();
      },
      debug: (m) => this.#log.debug(`[link ${this.remoteId}] ${m}`),
    });
    const recovery = new Recovery(conn, {
      iceRestart: this.#o.iceRestart ?? false,
      timeoutMs,
      disconnectedGraceMs: this.#o.disconnectedGraceMs ?? this.#o.deadAfterMs ?? 12_000,
      fail: (why) => this.#fail(a, why),
      reconnecting: (why) => {
        this.#setState('reconnecting');
        this.#log.info(`[link ${this.remoteId}] ${why}: trying an ICE restart`);
      },
      recovered: (ms) => {
        this.#log.info(`[link ${this.remoteId}] recovered by ICE restart after ${ms} ms (${connId})`);
        this.#setState('open');
        this.emit('restarted');
      },
    });
    const a: Attempt = { conn, recovery, gate: null };
    this.#attempt = a;
    this.#setState(this.#state === 'open' || this.#state === 'reconnecting' ? 'reconnecting' : 'connecting');
    conn.timer(timeoutMs, () => {
      if (!conn.opened) this.#fail(a, 'connect timeout');
    });
    return a;
  }

  /** Capabilities we announce; `ice_restart` only where the WebRTC stack can do it (browsers). */
  #caps(): Capability[] {
    return this.#o.iceRestart ? [...CAPS, 'ice_restart'] : [...CAPS];
  }

  #wireChannel(a: Attempt, dc: RTCDataChannel): void {
    dc.onopen = () => {
      if (a.conn.closed) return;
      const auth = this.#o.linkAuth;
      if (!auth || auth.required?.(this.remoteId) === false) return this.#open(a);
      a.gate = new IdentityGate(auth, this.remoteId, a.conn.pc, {
        get closed() {
          return a.conn.closed;
        },
        send: (text) => sendNow(a.conn, text),
        timer: (ms, fn) => a.conn.timer(ms, fn),
        pass: (held) => {
          a.gate = null;
          this.#open(a);
          for (const d of held) this.#onFrame(a, d);
        },
        refused: (reason, message) => this.#refused(a, reason, message),
      });
      a.gate.start();
    };
    dc.onmessage = (ev) => this.#onFrame(a, ev.data);
    dc.onclose = () => {
      if (!a.conn.closed) this.#fail(a, 'channel closed by the remote');
    };
    dc.onerror = (ev) => this.#log.debug(`[link ${this.remoteId}] channel error: ${String(ev.error ?? '')}`);
  }

  /** The channel is open (and the identity gate passed): resume delivery, start the keepalive. */
  #open(a: Attempt): void {
    const conn = a.conn;
    conn.opened = true;
    this.#redial.reset();
    this.#keepalive.received();
    if (conn.has('ack')) {
      const resent = this.#outbox.resume(conn);
      if (resent) {
        this.#log.info(`[link ${this.remoteId}] resending ${resent} unacknowledged message(s)`);
        this.emit('resent', resent);
      }
    } else {
      this.#giveUp('the new connection cannot acknowledge delivery');
    }
    this.#setState('open');
    if (conn.has('keepalive')) {
      this.#keepalive.start(
        (frame) => sendNow(conn, frame),
        (quietMs) => a.recovery.recover(`no frame from the remote for ${quietMs} ms`),
      );
    } else {
      this.#keepalive.stop();
    }
    this.#log.info(`[link ${this.remoteId}] open (${conn.role}, ${conn.connId})`);
    this.emit('open');
  }

  #refused(a: Attempt, reason: string, message: string): void {
    this.#log.warn(`[link ${this.remoteId}] identity check failed: ${reason}: ${message}`);
    this.emit('refused', reason, message);
    // Give the refusal frame a moment to leave before closing; never redial a refused peer.
    setTimeout(() => {
      if (this.#attempt === a) this.#teardown(a, `identity refused: ${reason}`);
      this.cancelRedial();
    }, 200);
  }

  // ─── receiving ──────────────────────────────────────────────────────

  #onFrame(a: Attempt, data: unknown): void {
    const conn = a.conn;
    if (conn.closed) return;
    if (a.gate) return a.gate.frame(data);
    this.#keepalive.received();
    a.recovery.frameArrived();
    if (typeof data === 'string') {
      if (this.#inbox.text(conn)) this.emit('message', data);
      return;
    }
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      this.emit('frame_error', new FrameError('bad_frame', 'unsupported frame type'));
      return;
    }
    try {
      const f = parseBinaryFrame(data);
      if (f.kind === 'ping') sendNow(conn, encodeControl(KIND_PONG, f.nonce));
      else if (f.kind === 'pong') this.#keepalive.pong(f.nonce);
      else if (f.kind === 'ack') this.#outbox.ack(f.seq);
      else if (f.kind === 'resume') this.#inbox.resume(conn, f.firstSeq, f.session);
      else {
        const text = this.#inbox.chunk(conn, f);
        if (text !== null) this.emit('message', text);
      }
    } catch (err) {
      this.emit('frame_error', err instanceof FrameError ? err : new FrameError('bad_frame', errText(err)));
    }
  }

  // ─── failure, redial, close ─────────────────────────────────────────

  #fail(a: Attempt, why: string): void {
    if (a.conn.closed || this.#attempt !== a) return;
    const wasOpen = a.conn.opened;
    this.#log.info(`[link ${this.remoteId}] ${wasOpen ? 'down' : 'attempt failed'}: ${why}`);
    this.#teardown(a, why);
    if (this.#closed) return;
    this.#setState(wasOpen || this.#state === 'reconnecting' ? 'reconnecting' : 'connecting');
    this.#scheduleRedial();
  }

  /** Closes an attempt; emits `down` when it was open. */
  #teardown(a: Attempt, why: string): void {
    if (a.conn.closed) return;
    if (this.#attempt === a) {
      this.#attempt = null;
      this.#keepalive.stop();
      this.#inbox.reset();
    }
    // Data the channel accepted but never got across is lost with the connection: say so.
    const lost = a.conn.close();
    if (!a.conn.opened) return;
    this.emit('down', lost > 0 ? `${why}; ${lost} bytes still buffered for sending were lost` : why);
  }

  #scheduleRedial(): void {
    this.#redial.cancel();
    if (this.#closed) return;
    if (!this.#o.shouldRedial()) return this.#end();
    this.#redial.schedule(() => {
      if (this.#closed || this.#attempt) return;
      if (!this.#o.shouldRedial()) return this.#end();
      this.dial();
    });
  }

  /** The remote is gone for good: the link is closed and gives up what was never acknowledged. */
  #end(): void {
    this.#setState('closed');
    this.#giveUp(`link to ${this.remoteId} is gone and the peer left`);
  }

  #giveUp(reason: string): void {
    const unconfirmed = this.#outbox.giveUp(reason);
    if (unconfirmed.length) this.emit('undelivered', unconfirmed, reason);
  }

  #setState(s: LinkState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
