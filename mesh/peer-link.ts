import { Emitter } from './emitter.ts';
import { Backoff } from './backoff.ts';
import {
  CAPS,
  encodeControl,
  encodeResume,
  KIND_ACK,
  encodeFrames,
  FrameError,
  KIND_PING,
  KIND_PONG,
  parseBinaryFrame,
  Reassembler,
} from './framing.ts';
import { readPath } from './stats.ts';
import { quietLogger, type LinkState, type Logger, type PathType, type RTCPeerConnectionCtor } from './types.ts';
import { LIMITS, type SignalMessage } from './protocol/index.ts';

export interface PeerLinkOptions {
  localId: string;
  remoteId: string;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** ICE servers and policy for each new RTCPeerConnection (fetched fresh: TURN credentials expire). */
  rtcConfig: () => RTCConfiguration;
  /** Sends a signaling frame to the remote; false when signaling is down. */
  signal: (type: 'offer' | 'answer' | 'ice_candidate', payload: Record<string, unknown>) => boolean;
  /** Whether to keep trying after a failure (the mesh says: the remote is still registered). */
  shouldRedial: () => boolean;
  logger?: Logger;
  /** Offer → open deadline for one attempt. node↔node DTLS stalls happen; a retry fixes them. */
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

/**
 * Identity check of a new link (mesh/identity's LinkAuthenticator fits): each side sends
 * `proofFrame` as its first text frame; the other side `check`s it before anything else is
 * delivered. A refused link is closed after sending `refusal`, and not redialed.
 */
export interface LinkAuth {
  proofFrame(remotePeerId: string, pc: RTCPeerConnection): Promise<string>;
  check(remotePeerId: string, pc: RTCPeerConnection, text: string): Promise<{ ok: true } | { ok: false; reason: string; message: string }>;
  refusal(check: { reason: string; message: string }): string;
  /** Local policy: false = this peer opens without a proof (a legacy peer the operator listed). Default: required. */
  required?(remotePeerId: string): boolean;
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

type Role = 'offerer' | 'answerer';

/** One RTCPeerConnection attempt; a link replaces its attempt on failure. */
interface Attempt {
  connId: string;
  role: Role;
  pc: RTCPeerConnection;
  dc: RTCDataChannel | null;
  remoteSet: boolean;
  pendingRemote: RTCIceCandidateInit[];
  /** Local candidates held until our description has reached the remote (WEBRTC-NOTES). */
  heldLocal: Record<string, unknown>[] | null;
  caps: string[];
  opened: boolean;
  /** Identity check: null = none configured or done; otherwise frames wait until it passes. */
  auth: { held: unknown[]; checking: boolean; verified: boolean; accepted: boolean } | null;
  closed: boolean;
  timers: Set<ReturnType<typeof setTimeout>>;
  /** our ICE-restart offer is out and its answer not yet applied */
  restarting: boolean;
  /** the open connection went quiet at this time and is being recovered in place (ICE restart) */
  recoveringSince: number | null;
}

let nextMsgId = 1;
/** How long a new link waits for the remote's identity proof and acceptance. */
const PROOF_TIMEOUT_MS = 10_000;

/**
 * The link to one remote peer: one ordered, reliable DataChannel over one RTCPeerConnection, and
 * everything needed to keep it up.
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
  readonly #reasm: Reassembler;
  readonly #redialBackoff = new Backoff({ initialMs: 300, maxMs: 10_000 });
  #attempt: Attempt | null = null;
  #state: LinkState = 'new';
  #closed = false;
  #redialTimer: ReturnType<typeof setTimeout> | null = null;
  #sendChain: Promise<void> = Promise.resolve();
  #queuedBytes = 0;
  #lastRecv = 0;
  #lastSend = 0;
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #pingNonce = 0;
  #pingSentAt = new Map<number, number>();
  #rttMs: number | undefined;
  #probe: { deadline: ReturnType<typeof setTimeout> } | null = null;
  // Delivery acknowledgement (peers with the `ack` capability), kept across connections.
  readonly #session: [number, number] = [randU32(), randU32()];
  #nextSeq = 1;
  #unacked: UnackedEntry[] = [];
  #unackedBytes = 0;
  #ackWaiters: (() => void)[] = [];
  #inSession: string | undefined;
  #inDelivered = 0;
  #inExpect: number | undefined;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(opts: PeerLinkOptions) {
    super();
    this.#o = opts;
    this.remoteId = opts.remoteId;
    this.#log = opts.logger ?? quietLogger;
    this.#reasm = new Reassembler(opts.maxMessageBytes ?? LIMITS.meshMessageBytes);
  }

  get state(): LinkState {
    return this.#state;
  }
  get isOpen(): boolean {
    return this.#state === 'open';
  }
  /** Whether the remote runs this core (chunking + keepalive); false for the Rust sidecar. */
  get extended(): boolean {
    return this.#attempt?.caps.includes('chunk') ?? false;
  }
  /** Whether an attempt is under way or open. */
  get active(): boolean {
    return this.#attempt !== null;
  }
  get rttMs(): number | undefined {
    return this.#rttMs;
  }
  get connectionId(): string | undefined {
    return this.#attempt?.connId;
  }
  get bufferedAmount(): number {
    return this.#attempt?.dc?.bufferedAmount ?? 0;
  }

  // ─── dialing and signaling ────────────────────────────────────────────

  /** Starts a fresh connection as the offerer unless one is under way or open. */
  dial(): void {
    if (this.#closed || this.#attempt) return;
    this.#clearRedial();
    void this.#startOffer();
  }

  async #startOffer(): Promise<void> {
    const a = this.#newAttempt('offerer', randomId());
    try {
      const dc = a.pc.createDataChannel('mesh', { ordered: true });
      this.#wireChannel(a, dc);
      const offer = await a.pc.createOffer();
      if (a.closed) return;
      await a.pc.setLocalDescription(offer);
      if (a.closed) return;
      const sdp = offer.sdp ?? a.pc.localDescription?.sdp;
      if (!sdp) throw new Error('no local offer SDP');
      if (!this.#o.signal('offer', { sdp, conn: a.connId, caps: this.#caps() })) {
        this.#fail(a, 'signaling is down');
        return;
      }
      this.#log.debug(`[link ${this.remoteId}] offer ${a.connId} sent`);
    } catch (err) {
      this.#fail(a, `offer failed: ${errText(err)}`);
    }
  }

  /** Capabilities we announce; `ice_restart` only where the WebRTC stack can do it (browsers). */
  #caps(): string[] {
    return this.#o.iceRestart ? [...CAPS, 'ice_restart'] : [...CAPS];
  }

  /** Applies an offer / answer / ice_candidate from the remote. */
  async handleSignal(msg: SignalMessage<'offer' | 'answer' | 'ice_candidate'>): Promise<void> {
    if (this.#closed) return;
    const p = msg.payload as Record<string, unknown>;
    const conn = typeof p.conn === 'string' ? p.conn : undefined;
    try {
      if (msg.type === 'offer') await this.#onOffer(p.sdp as string, conn, asCaps(p.caps));
      else if (msg.type === 'answer') await this.#onAnswer(p.sdp as string, conn, asCaps(p.caps));
      else await this.#onCandidate(p, conn);
    } catch (err) {
      this.#log.warn(`[link ${this.remoteId}] ${msg.type} failed: ${errText(err)}`);
      if (this.#attempt && (msg.type !== 'ice_candidate')) this.#fail(this.#attempt, `${msg.type} failed`);
    }
  }

  async #onOffer(sdp: string, conn: string | undefined, caps: string[]): Promise<void> {
    const cur = this.#attempt;
    if (cur && conn && cur.connId === conn) {
      // Renegotiation of the current connection (the remote restarts ICE).
      await cur.pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await cur.pc.createAnswer();
      await cur.pc.setLocalDescription(answer);
      this.#o.signal('answer', { sdp: answer.sdp ?? cur.pc.localDescription?.sdp, conn, caps: this.#caps() });
      return;
    }
    if (cur && cur.role === 'offerer' && !cur.opened && this.#o.localId < this.remoteId) {
      this.#log.debug(`[link ${this.remoteId}] glare: keeping our offer ${cur.connId}`);
      return;
    }
    if (cur) this.#teardown(cur, 'replaced by a new connection from the remote');
    this.#clearRedial();
    const a = this.#newAttempt('answerer', conn ?? randomId());
    a.caps = caps;
    a.pc.ondatachannel = (ev) => {
      if (a.closed || a.dc) return;
      this.#wireChannel(a, ev.channel);
    };
    await a.pc.setRemoteDescription({ type: 'offer', sdp });
    a.remoteSet = true;
    const answer = await a.pc.createAnswer();
    if (a.closed) return;
    await a.pc.setLocalDescription(answer);
    if (a.closed) return;
    const answerSdp = answer.sdp ?? a.pc.localDescription?.sdp;
    const payload: Record<string, unknown> = { sdp: answerSdp };
    if (conn) Object.assign(payload, { conn, caps: this.#caps() });
    if (!this.#o.signal('answer', payload)) {
      this.#fail(a, 'signaling is down');
      return;
    }
    await this.#flushRemote(a);
    this.#releaseLocal(a);
  }

  async #onAnswer(sdp: string, conn: string | undefined, caps: string[]): Promise<void> {
    const a = this.#attempt;
    if (!a || a.role !== 'offerer' || (conn && conn !== a.connId)) return; // stale
    if (a.remoteSet && !a.restarting) return;
    await a.pc.setRemoteDescription({ type: 'answer', sdp });
    a.remoteSet = true;
    a.restarting = false;
    a.caps = caps;
    await this.#flushRemote(a);
    this.#releaseLocal(a);
  }

  async #onCandidate(p: Record<string, unknown>, conn: string | undefined): Promise<void> {
    const a = this.#attempt;
    if (!a || (conn && conn !== a.connId)) return; // for an attempt that no longer exists
    if (typeof p.candidate !== 'string' || !p.candidate) return;
    const init: RTCIceCandidateInit = {
      candidate: p.candidate,
      sdpMid: (p.sdpMid as string | null | undefined) ?? '0',
      sdpMLineIndex: (p.sdpMLineIndex as number | null | undefined) ?? 0,
    };
    if (!a.remoteSet) a.pendingRemote.push(init);
    else await a.pc.addIceCandidate(init).catch((e) => this.#log.debug(`[link ${this.remoteId}] candidate refused: ${errText(e)}`));
  }

  async #flushRemote(a: Attempt): Promise<void> {
    const list = a.pendingRemote.splice(0);
    for (const c of list) {
      await a.pc.addIceCandidate(c).catch((e) => this.#log.debug(`[link ${this.remoteId}] candidate refused: ${errText(e)}`));
    }
  }

  #releaseLocal(a: Attempt): void {
    const held = a.heldLocal;
    a.heldLocal = null;
    for (const c of held ?? []) this.#o.signal('ice_candidate', c);
  }

  #newAttempt(role: Role, connId: string): Attempt {
    const pc = new this.#o.RTCPeerConnection(this.#o.rtcConfig());
    const a: Attempt = {
      connId, role, pc, dc: null, remoteSet: false, pendingRemote: [], heldLocal: [], caps: [],
      opened: false, auth: null, closed: false, timers: new Set(), restarting: false, recoveringSince: null,
    };
    this.#attempt = a;
    this.#setState(this.#state === 'open' || this.#state === 'reconnecting' ? 'reconnecting' : 'connecting');
    pc.onicecandidate = (ev) => {
      if (a.closed || !ev.candidate || !ev.candidate.candidate) return;
      const c: Record<string, unknown> = {
        candidate: ev.candidate.candidate,
        sdpMid: ev.candidate.sdpMid,
        sdpMLineIndex: ev.candidate.sdpMLineIndex ?? 0,
        conn: a.connId,
      };
      if (a.heldLocal) a.heldLocal.push(c);
      else this.#o.signal('ice_candidate', c);
    };
    pc.onconnectionstatechange = () => this.#onPcState(a);
    this.#timer(a, this.#o.connectTimeoutMs ?? 10_000, () => {
      if (!a.opened) this.#fail(a, 'connect timeout');
    });
    return a;
  }

  #onPcState(a: Attempt): void {
    if (a.closed) return;
    const s = a.pc.connectionState;
    this.#log.debug(`[link ${this.remoteId}] pc ${a.connId} ${s}`);
    if (s === 'failed') void this.#recover(a, 'connection failed');
    else if (s === 'disconnected') {
      // Often transient (a few seconds of packet loss): SCTP retransmits whatever was buffered once
      // the path returns, so give it as long as the keepalive would before starting over.
      this.#timer(a, this.#o.disconnectedGraceMs ?? this.#o.deadAfterMs ?? 12_000, () => {
        if (a.pc.connectionState === 'disconnected') void this.#recover(a, 'connection disconnected');
      });
    } else if (s === 'closed') this.#fail(a, 'connection closed');
  }

  /**
   * The open connection went quiet or ICE dropped: ICE restart first where both ends can (the
   * offerer restarts, the answerer waits for its offer), then a fresh connection. The restart
   * counts as done only when a frame arrives again, not when ICE says "connected".
   */
  async #recover(a: Attempt, why: string): Promise<void> {
    if (a.closed || a.recoveringSince !== null) return;
    const canRestart = this.#o.iceRestart && a.opened && a.caps.includes('ice_restart');
    if (!canRestart) return this.#fail(a, why);
    const since = Date.now();
    a.recoveringSince = since;
    this.#setState('reconnecting');
    this.#log.info(`[link ${this.remoteId}] ${why}: trying an ICE restart`);
    this.#timer(a, this.#o.connectTimeoutMs ?? 10_000, () => {
      if (a.recoveringSince === since) this.#fail(a, `${why}; ICE restart did not help`);
    });
    if (a.role !== 'offerer') return;
    try {
      a.restarting = true;
      a.pc.restartIce();
      const offer = await a.pc.createOffer({ iceRestart: true });
      await a.pc.setLocalDescription(offer);
      a.heldLocal = [];
      a.remoteSet = false; // the remote's new candidates wait for its answer
      if (!this.#o.signal('offer', { sdp: offer.sdp, conn: a.connId, restart: true, caps: this.#caps() })) {
        throw new Error('signaling is down');
      }
    } catch (err) {
      this.#fail(a, `${why}; ICE restart impossible: ${errText(err)}`);
    }
  }

  /** A frame arrived on a connection being recovered: the ICE restart worked, same channel. */
  #recovered(a: Attempt): void {
    this.#log.info(`[link ${this.remoteId}] recovered by ICE restart after ${Date.now() - a.recoveringSince!} ms (${a.connId})`);
    a.recoveringSince = null;
    this.#setState('open');
    this.emit('restarted');
  }

  #wireChannel(a: Attempt, dc: RTCDataChannel): void {
    a.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = Math.floor((this.#o.highWaterBytes ?? 1 << 20) / 4);
    dc.onopen = () => {
      if (a.closed) return;
      const auth = this.#o.linkAuth;
      if (!auth || auth.required?.(this.remoteId) === false) return this.#markOpen(a);
      a.auth = { held: [], checking: false, verified: false, accepted: false };
      // A peer that never proves (an unlisted legacy peer, a stalled one) is refused and reported, not left hanging.
      this.#timer(a, PROOF_TIMEOUT_MS, () => {
        if (a.auth && !a.closed) this.#refuse(a, 'no_proof', `no identity proof within ${PROOF_TIMEOUT_MS / 1000} s (a peer without identity must be listed as legacy)`, true);
      });
      auth.proofFrame(this.remoteId, a.pc).then(
        (frame) => {
          if (!a.closed && dc.readyState === 'open') dc.send(frame);
        },
        (err) => this.#refuse(a, 'no_proof', `cannot prove our identity: ${errText(err)}`, true),
      );
    };
    dc.onmessage = (ev) => this.#onFrame(a, ev.data);
    dc.onclose = () => {
      if (!a.closed) this.#fail(a, 'channel closed by the remote');
    };
    dc.onerror = (ev) => this.#log.debug(`[link ${this.remoteId}] channel error: ${String((ev as { error?: unknown }).error ?? '')}`);
  }

  #markOpen(a: Attempt): void {
    a.opened = true;
    this.#redialBackoff.reset();
    this.#lastRecv = Date.now();
    if (acks(a)) {
      // Before anything else on this connection: where our numbering continues, then whatever the
      // last connection took but never acknowledged (the receiver drops what it already has).
      const first = this.#unacked[0]?.seq ?? this.#nextSeq;
      this.#sendRaw(a, encodeResume(first, this.#session));
      const resend = this.#unacked.map((u) => u.json);
      if (resend.length) {
        this.#log.info(`[link ${this.remoteId}] resending ${resend.length} unacknowledged message(s)`);
        this.emit('resent', resend.length);
        const run = this.#sendChain.then(async () => {
          for (const json of resend) {
            await this.#sendFrames(a, encodeFrames(json, nextMsgId++ >>> 0, this.#o.maxMessageBytes ?? LIMITS.meshMessageBytes, true));
          }
        });
        this.#sendChain = run.catch(() => {});
      }
    } else {
      this.#failUnacked('the new connection cannot acknowledge delivery');
    }
    this.#setState('open');
    this.#startKeepalive(a);
    this.#log.info(`[link ${this.remoteId}] open (${a.role}, ${a.connId})`);
    this.emit('open');
  }

  /**
   * During the identity check: the remote's first text frame is its proof; `identity_accepted`
   * says it accepted ours; `identity_refused` that it did not. The link opens when both hold.
   */
  #authFrame(a: Attempt, data: unknown): void {
    const st = a.auth!;
    if (typeof data !== 'string') return void st.held.push(data);
    const head = data.slice(0, 48);
    if (head.includes('"identity_refused"') || head.includes('"identity_accepted"')) {
      let f: { type?: string; reason?: string; message?: string } = {};
      try {
        f = JSON.parse(data);
      } catch {
        /* not ours */
      }
      if (f.type === 'identity_refused') {
        return this.#refuse(a, String(f.reason ?? 'refused'), `the remote refused our identity: ${String(f.message ?? '')}`, false);
      }
      if (f.type === 'identity_accepted') {
        st.accepted = true;
        return this.#maybeAuthOpen(a);
      }
    }
    if (st.checking || st.verified) return void st.held.push(data);
    void this.#checkProof(a, data);
  }

  async #checkProof(a: Attempt, text: string): Promise<void> {
    const st = a.auth!;
    st.checking = true;
    let res: Awaited<ReturnType<LinkAuth['check']>>;
    try {
      res = await this.#o.linkAuth!.check(this.remoteId, a.pc, text);
    } catch (err) {
      res = { ok: false, reason: 'check_failed', message: errText(err) };
    }
    if (a.closed) return;
    st.checking = false;
    if (!res.ok) return this.#refuse(a, res.reason, res.message, true);
    st.verified = true;
    try {
      a.dc?.send(JSON.stringify({ type: 'identity_accepted' }));
    } catch {
      /* the failure path handles a dead channel */
    }
    this.#maybeAuthOpen(a);
  }

  #maybeAuthOpen(a: Attempt): void {
    const st = a.auth;
    if (!st || !st.verified || !st.accepted || a.closed) return;
    a.auth = null;
    this.#markOpen(a);
    for (const d of st.held) this.#onFrame(a, d);
  }

  #refuse(a: Attempt, reason: string, message: string, tellRemote: boolean): void {
    if (a.closed) return;
    this.#log.warn(`[link ${this.remoteId}] identity check failed: ${reason}: ${message}`);
    if (tellRemote) {
      try {
        if (a.dc?.readyState === 'open') a.dc.send(this.#o.linkAuth!.refusal({ reason, message }));
      } catch {
        /* closing anyway */
      }
    }
    this.emit('refused', reason, message);
    // Give the refusal frame a moment to leave before closing; never redial a refused peer.
    setTimeout(() => {
      if (this.#attempt === a) this.#teardown(a, `identity refused: ${reason}`);
      this.cancelRedial();
    }, 200);
  }

  // ─── receiving ──────────────────────────────────────────────────────

  #onFrame(a: Attempt, data: unknown): void {
    if (a.closed) return;
    if (a.auth) return this.#authFrame(a, data);
    this.#lastRecv = Date.now();
    if (a.recoveringSince !== null) this.#recovered(a);
    this.#endProbe();
    if (typeof data === 'string') {
      if (this.#countInbound(a)) this.emit('message', data);
      return;
    }
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      this.emit('frame_error', new FrameError('bad_frame', 'unsupported frame type'));
      return;
    }
    try {
      const f = parseBinaryFrame(data);
      if (f.kind === 'ping') this.#sendRaw(a, encodeControl(KIND_PONG, f.nonce));
      else if (f.kind === 'pong') {
        const at = this.#pingSentAt.get(f.nonce);
        if (at !== undefined) {
          this.#rttMs = Date.now() - at;
          this.#pingSentAt.delete(f.nonce);
        }
      } else if (f.kind === 'ack') this.#onAck(f.seq);
      else if (f.kind === 'resume') this.#onResume(a, f.firstSeq, f.session);
      else if (f.kind === 'chunk') {
        // The last chunk of a message counts as one message even when the message is refused,
        // so the implicit numbering stays in step with the sender.
        const last = f.offset + f.data.byteLength >= f.total;
        let text: string | null = null;
        try {
          text = this.#reasm.push(f);
        } finally {
          if (last && !this.#countInbound(a)) text = null;
        }
        if (text !== null) this.emit('message', text);
      }
    } catch (err) {
      this.emit('frame_error', err instanceof FrameError ? err : new FrameError('bad_frame', errText(err)));
    }
  }

  /** Numbers one inbound message; false = a duplicate of one delivered before (drop it). */
  #countInbound(a: Attempt): boolean {
    if (!acks(a) || this.#inExpect === undefined) return true;
    const seq = this.#inExpect++;
    if (seq <= this.#inDelivered) return false;
    this.#inDelivered = seq;
    this.#scheduleAck(a);
    return true;
  }

  #onResume(a: Attempt, firstSeq: number, session: string): void {
    if (session !== this.#inSession) {
      // A new sender (first connection, or the remote restarted): start its numbering here.
      this.#inSession = session;
      this.#inDelivered = firstSeq - 1;
    }
    this.#inExpect = firstSeq;
    this.#scheduleAck(a, 0);
  }

  #scheduleAck(a: Attempt, delayMs = 50): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = null;
      if (!a.closed) this.#sendRaw(a, encodeControl(KIND_ACK, this.#inDelivered));
    }, delayMs);
  }

  #onAck(seq: number): void {
    let n = 0;
    while (n < this.#unacked.length && this.#unacked[n]!.seq <= seq) {
      this.#unackedBytes -= this.#unacked[n]!.json.length;
      n++;
    }
    if (n) for (const u of this.#unacked.splice(0, n)) u.confirm?.resolve();
    const w = this.#ackWaiters.splice(0);
    for (const fn of w) fn();
  }

  /** Gives up on every unacknowledged message (the link is closed for good). */
  #failUnacked(reason: string): void {
    if (!this.#unacked.length) return;
    const gone = this.#unacked;
    this.#unacked = [];
    this.#unackedBytes = 0;
    const unconfirmed = gone.filter((u) => !u.confirm).map((u) => u.json);
    if (unconfirmed.length) this.emit('undelivered', unconfirmed, reason);
    // Senders waiting for confirmation hear it from their own promise (not as 'undelivered').
    for (const u of gone) u.confirm?.reject(new LinkError('link_lost', reason));
  }

  // ─── sending ────────────────────────────────────────────────────────

  /**
   * Sends one serialized MeshMessage. Resolves once every frame is handed to the channel, waiting
   * on `bufferedamountlow` whenever the channel holds more than the high-water mark. Rejects when
   * the link is not open, goes down meanwhile, or the message is too large.
   */
  send(json: string): Promise<void> {
    return this.#send(json, undefined);
  }

  /**
   * Like `send`, but resolves only once the remote peer acknowledged the message (`'peer'`) —
   * across reconnections and resends — or, on a link that cannot acknowledge (a Rust peer), once
   * it is handed to the channel (`'sent'`). Rejects with `link_lost` when the mesh gives up on it;
   * such a message is not reported again as `undelivered`.
   */
  sendConfirmed(json: string): Promise<'peer' | 'sent'> {
    let confirm!: Confirm;
    const confirmed = new Promise<'peer' | 'sent'>((resolve, reject) => {
      confirm = { resolve: () => resolve('peer'), reject, sent: () => resolve('sent') };
    });
    return this.#send(json, confirm).then(() => confirmed);
  }

  #send(json: string, confirm: Confirm | undefined): Promise<void> {
    const a = this.#attempt;
    if (!a || !a.opened || !a.dc || this.#state !== 'open') {
      return Promise.reject(new LinkError('not_connected', `no open link to ${this.remoteId}`));
    }
    let frames: (string | Uint8Array)[];
    try {
      frames = encodeFrames(json, nextMsgId++ >>> 0, this.#o.maxMessageBytes ?? LIMITS.meshMessageBytes, a.caps.includes('chunk'));
    } catch (err) {
      return Promise.reject(err);
    }
    const size = json.length;
    const maxQueued = this.#o.maxQueuedBytes ?? 16 * 1024 * 1024;
    if (this.#queuedBytes + size > maxQueued && this.#queuedBytes > 0) {
      return Promise.reject(new LinkError('queue_full', `send queue to ${this.remoteId} is full (${this.#queuedBytes} bytes waiting)`));
    }
    this.#queuedBytes += size;
    const run = this.#sendChain.then(() => this.#sendTracked(a, json, frames, confirm));
    this.#sendChain = run.catch(() => {});
    return run.finally(() => {
      this.#queuedBytes -= size;
    });
  }

  /** Sends one new message; on acknowledging links it is kept until the remote acks it. */
  async #sendTracked(a: Attempt, json: string, frames: (string | Uint8Array)[], confirm?: Confirm): Promise<void> {
    if (!acks(a)) {
      await this.#sendFrames(a, frames);
      return confirm?.sent();
    }
    // Bounded memory: wait for acknowledgements when too much is outstanding.
    const limit = Math.max(16 * 1024 * 1024, json.length);
    while (this.#unacked.length && this.#unackedBytes + json.length > limit) {
      if (a.closed) throw new LinkError('link_lost', `link to ${this.remoteId} went down while sending`);
      await new Promise<void>((r) => {
        this.#ackWaiters.push(r);
        setTimeout(r, 500);
      });
    }
    if (a.closed || a.dc?.readyState !== 'open') throw new LinkError('link_lost', `link to ${this.remoteId} went down while sending`);
    const entry: UnackedEntry = { seq: this.#nextSeq++, json, ...(confirm && { confirm }) };
    this.#unacked.push(entry);
    this.#unackedBytes += json.length;
    try {
      await this.#sendFrames(a, frames);
    } catch (err) {
      // Not all of it reached the channel: the caller gets the error, so it is not resent (the
      // receiver sees a gap in the numbering only if a chunked message was cut; it resynchronizes
      // at the next RESUME).
      const i = this.#unacked.indexOf(entry);
      if (i >= 0) {
        this.#unacked.splice(i, 1);
        this.#unackedBytes -= json.length;
      }
      throw err;
    }
  }

  async #sendFrames(a: Attempt, frames: (string | Uint8Array)[]): Promise<void> {
    const high = this.#o.highWaterBytes ?? 1 << 20;
    for (const frame of frames) {
      const dc = a.dc;
      if (a.closed || !dc || dc.readyState !== 'open') throw new LinkError('link_lost', `link to ${this.remoteId} went down while sending`);
      if (dc.bufferedAmount > high) await waitLow(a, dc);
      if (a.closed || dc.readyState !== 'open') throw new LinkError('link_lost', `link to ${this.remoteId} went down while sending`);
      dc.send(frame as string);
      this.#lastSend = Date.now();
    }
  }

  #sendRaw(a: Attempt, frame: Uint8Array): void {
    try {
      if (a.dc?.readyState === 'open') a.dc.send(frame as unknown as string);
    } catch {
      /* the failure path handles a dead channel */
    }
  }

  // ─── liveness ───────────────────────────────────────────────────────

  #startKeepalive(a: Attempt): void {
    this.#stopKeepalive();
    if (!a.caps.includes('keepalive')) return;
    const every = this.#o.keepaliveMs ?? 2_500;
    const dead = this.#o.deadAfterMs ?? 12_000;
    this.#keepalive = setInterval(() => {
      if (a.closed) return this.#stopKeepalive();
      const now = Date.now();
      // Keep pinging while recovering: the first frame back is what ends the recovery.
      if (now - this.#lastRecv > dead) void this.#recover(a, `no frame from the remote for ${now - this.#lastRecv} ms`);
      this.ping(a);
    }, every);
    this.ping(a);
  }

  private ping(a: Attempt): void {
    const nonce = ++this.#pingNonce >>> 0;
    this.#pingSentAt.set(nonce, Date.now());
    if (this.#pingSentAt.size > 16) this.#pingSentAt.delete(this.#pingSentAt.keys().next().value!);
    this.#sendRaw(a, encodeControl(KIND_PING, nonce));
  }

  #stopKeepalive(): void {
    if (this.#keepalive) clearInterval(this.#keepalive);
    this.#keepalive = null;
  }

  /**
   * Checks quickly whether the remote is still there (e.g. after its signaling socket closed):
   * fails the link when no frame arrives within `deadlineMs`. Only for extended peers.
   */
  probe(deadlineMs = 4_000): void {
    const a = this.#attempt;
    if (!a || !a.opened || !a.caps.includes('keepalive') || this.#probe) return;
    const sentAt = Date.now();
    this.ping(a);
    this.#probe = {
      deadline: setTimeout(() => {
        this.#probe = null;
        if (this.#attempt === a && this.#lastRecv < sentAt) this.#fail(a, 'probe unanswered');
      }, deadlineMs),
    };
  }

  #endProbe(): void {
    if (this.#probe) clearTimeout(this.#probe.deadline);
    this.#probe = null;
  }

  // ─── failure, redial, close ─────────────────────────────────────────

  #fail(a: Attempt, why: string): void {
    if (a.closed || this.#attempt !== a) return;
    const wasOpen = a.opened;
    this.#log.info(`[link ${this.remoteId}] ${wasOpen ? 'down' : 'attempt failed'}: ${why}`);
    this.#teardown(a, why);
    if (this.#closed) return;
    this.#setState(wasOpen ? 'reconnecting' : this.#state === 'reconnecting' ? 'reconnecting' : 'connecting');
    this.#scheduleRedial();
  }

  /** Closes an attempt; emits `down` when it was open. */
  #teardown(a: Attempt, why: string): void {
    if (a.closed) return;
    a.closed = true;
    // Data the channel accepted but never got across is lost with the connection: say so.
    let buffered = 0;
    try {
      buffered = a.dc?.bufferedAmount ?? 0;
    } catch {
      /* closed */
    }
    if (buffered > 0 && a.opened) why = `${why}; ${buffered} bytes still buffered for sending were lost`;
    for (const t of a.timers) clearTimeout(t);
    a.timers.clear();
    if (this.#attempt === a) {
      this.#attempt = null;
      this.#stopKeepalive();
      this.#endProbe();
      this.#reasm.clear();
    }
    try {
      a.dc?.close();
    } catch {
      /* ignore */
    }
    try {
      a.pc.close();
    } catch {
      /* ignore */
    }
    if (a.opened) this.emit('down', why);
  }

  #scheduleRedial(): void {
    this.#clearRedial();
    if (this.#closed) return;
    if (!this.#o.shouldRedial()) {
      this.#setState('closed');
      this.#failUnacked(`link to ${this.remoteId} is gone and the peer left`);
      return;
    }
    // The higher id waits a little longer, so after a shared failure the lower id's offer usually wins cleanly.
    const delay = this.#redialBackoff.next() + (this.#o.localId < this.remoteId ? 0 : 1_000);
    this.#redialTimer = setTimeout(() => {
      this.#redialTimer = null;
      if (this.#closed || this.#attempt) return;
      if (!this.#o.shouldRedial()) {
        this.#setState('closed');
        return this.#failUnacked(`link to ${this.remoteId} is gone and the peer left`);
      }
      this.dial();
    }, delay);
  }

  #clearRedial(): void {
    if (this.#redialTimer) clearTimeout(this.#redialTimer);
    this.#redialTimer = null;
  }

  /** Stops retrying; the link stays usable if it is open (used when the remote left signaling). */
  cancelRedial(): void {
    this.#clearRedial();
    if (!this.#attempt) {
      this.#setState('closed');
      this.#failUnacked(`link to ${this.remoteId} is gone and the peer left`);
    }
  }

  /** Closes the link for good. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearRedial();
    if (this.#attempt) this.#teardown(this.#attempt, 'closed');
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#setState('closed');
    this.#failUnacked('link closed');
  }

  #timer(a: Attempt, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      a.timers.delete(t);
      fn();
    }, ms);
    a.timers.add(t);
  }

  #setState(s: LinkState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }

  /** Selected candidate pair type and RTT (keepalive RTT when known, else getStats). */
  async stats(): Promise<{ path: PathType; rtt_ms?: number }> {
    const a = this.#attempt;
    if (!a || !a.opened) return { path: 'unknown' };
    const s = await readPath(a.pc).catch(() => ({ path: 'unknown' as PathType, rtt_ms: undefined }));
    const rtt = this.#rttMs ?? s.rtt_ms;
    return rtt === undefined ? { path: s.path } : { path: s.path, rtt_ms: rtt };
  }
}

/** Settles a `sendConfirmed` once the remote acknowledged the message (or the mesh gave up). */
interface Confirm {
  resolve(): void;
  reject(err: Error): void;
  /** The link cannot acknowledge: handed to the channel is all we will know. */
  sent(): void;
}
interface UnackedEntry {
  seq: number;
  json: string;
  confirm?: Confirm;
}

export class LinkError extends Error {
  constructor(
    readonly code: 'not_connected' | 'link_lost' | 'queue_full',
    message: string,
  ) {
    super(message);
    this.name = 'LinkError';
  }
}

/** Waits for `bufferedamountlow`, or rejects when the attempt dies first (checked every second). */
function waitLow(a: Attempt, dc: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearInterval(check);
      dc.removeEventListener('bufferedamountlow', done);
      resolve();
    };
    const check = setInterval(() => {
      if (a.closed || dc.readyState !== 'open') {
        clearInterval(check);
        dc.removeEventListener('bufferedamountlow', done);
        reject(new LinkError('link_lost', 'link went down while waiting to send'));
      } else if (dc.bufferedAmount <= dc.bufferedAmountLowThreshold) done();
    }, 1_000);
    dc.addEventListener('bufferedamountlow', done);
  });
}

/** Whether this connection acknowledges delivery (both ends announced `ack`). */
function acks(a: Attempt): boolean {
  return a.caps.includes('ack');
}

function randU32(): number {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return b[0]!;
}

function asCaps(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 16) : [];
}

export function randomId(bytes = 8): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
