import type { z } from 'zod';
import type { Capability } from '../framing.ts';
import type { SignalPayloads } from '../protocol/index.ts';
import type { RTCPeerConnectionCtor } from '../types.ts';

type Relayed = 'offer' | 'answer' | 'ice_candidate';
/** Sends a signaling frame to the remote; false when signaling is down. */
export type LinkSignal = <T extends Relayed>(type: T, payload: z.input<(typeof SignalPayloads)[T]>) => boolean;
type CandidatePayload = z.input<(typeof SignalPayloads)['ice_candidate']>;

export type Role = 'offerer' | 'answerer';

export interface ConnectionOptions {
  connId: string;
  role: Role;
  RTCPeerConnection: RTCPeerConnectionCtor;
  rtcConfig: RTCConfiguration;
  signal: LinkSignal;
  /** The capabilities we announce in our offers and answers. */
  caps: readonly Capability[];
  /** The channel's `bufferedAmountLowThreshold`. */
  lowWaterBytes: number;
  /** The DataChannel exists (ours as offerer, the remote's as answerer): wire its events. */
  onChannel(dc: RTCDataChannel): void;
  /** The RTCPeerConnection's `connectionState` changed (not called once closed). */
  onStateChange(): void;
  debug(msg: string): void;
}

/**
 * What an offer from the remote means for the current connection: the same connection id is a
 * renegotiation (the remote restarts ICE); on glare — both dialed, neither open — the lower peer id
 * keeps its own offer; anything else is answered with a fresh connection that replaces the current.
 */
export function offerAction(
  current: { connId: string; role: Role; opened: boolean } | null,
  conn: string | undefined,
  localId: string,
  remoteId: string,
): 'renegotiate' | 'keep_ours' | 'answer' {
  if (current && conn && current.connId === conn) return 'renegotiate';
  if (current && current.role === 'offerer' && !current.opened && localId < remoteId) return 'keep_ours';
  return 'answer';
}

/**
 * One RTCPeerConnection attempt of a link and its negotiation (docs/protocol.md, signaling):
 * offer or answer with our connection id and capabilities, trickle ICE with our candidates held
 * until our description has reached the remote (an early candidate makes node-datachannel lose the
 * first DTLS ClientHello and stall 1 s), the remote's early candidates queued until its description
 * is applied, and ICE-restart renegotiation on the same id. Timers set through `timer` die with it.
 */
export class Connection {
  readonly connId: string;
  readonly role: Role;
  readonly pc: RTCPeerConnection;
  dc: RTCDataChannel | null = null;
  /** The DataChannel opened on this connection (set by the link). */
  opened = false;
  readonly #o: ConnectionOptions;
  #closed = false;
  #remoteCaps: readonly string[] = [];
  #remoteSet = false;
  #pendingRemote: RTCIceCandidateInit[] = [];
  /** Our candidates while our description has not reached the remote; null = send at once. */
  #heldLocal: CandidatePayload[] | null = [];
  /** Our ICE-restart offer is out and its answer not yet applied. */
  #restarting = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(o: ConnectionOptions) {
    this.#o = o;
    this.connId = o.connId;
    this.role = o.role;
    const pc = new o.RTCPeerConnection(o.rtcConfig);
    this.pc = pc;
    pc.onicecandidate = (ev) => {
      if (this.#closed || !ev.candidate || !ev.candidate.candidate) return;
      const c: CandidatePayload = {
        candidate: ev.candidate.candidate,
        sdpMid: ev.candidate.sdpMid,
        sdpMLineIndex: ev.candidate.sdpMLineIndex ?? 0,
        conn: this.connId,
      };
      if (this.#heldLocal) this.#heldLocal.push(c);
      else o.signal('ice_candidate', c);
    };
    pc.onconnectionstatechange = () => {
      if (!this.#closed) o.onStateChange();
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.pc.connectionState;
  }

  /** Whether the remote announced `cap` (in its offer or answer). */
  has(cap: Capability): boolean {
    return this.#remoteCaps.includes(cap);
  }

  /** Offerer: creates the channel (the polyfill's createOffer waits for one) and sends the offer. */
  async offer(): Promise<void> {
    this.#attach(this.pc.createDataChannel('mesh', { ordered: true }));
    const offer = await this.pc.createOffer();
    if (this.#closed) return;
    await this.pc.setLocalDescription(offer);
    if (this.#closed) return;
    this.#send('offer', { sdp: this.#sdp(offer), conn: this.connId, caps: [...this.#o.caps] });
  }

  /**
   * Answerer: applies the remote's offer and answers it. An offer with a connection id comes from
   * this core: the answer carries the id and our capabilities too (the Rust sidecar sends neither).
   */
  async answer(sdp: string, remoteCaps: readonly string[], withConn: boolean): Promise<void> {
    this.#remoteCaps = remoteCaps;
    this.pc.ondatachannel = (ev) => {
      if (!this.#closed && !this.dc) this.#attach(ev.channel);
    };
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    this.#remoteSet = true;
    const answer = await this.pc.createAnswer();
    if (this.#closed) return;
    await this.pc.setLocalDescription(answer);
    if (this.#closed) return;
    const answerSdp = this.#sdp(answer);
    this.#send('answer', withConn ? { sdp: answerSdp, conn: this.connId, caps: [...this.#o.caps] } : { sdp: answerSdp });
    await this.#flushRemote();
    this.#releaseLocal();
  }

  /** The remote's answer to our offer or ICE-restart offer; a stale or repeated one is ignored. */
  async applyAnswer(sdp: string, conn: string | undefined, remoteCaps: readonly string[]): Promise<void> {
    if (this.role !== 'offerer' || (conn && conn !== this.connId)) return;
    if (this.#remoteSet && !this.#restarting) return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.#remoteSet = true;
    this.#restarting = false;
    this.#remoteCaps = remoteCaps;
    await this.#flushRemote();
    this.#releaseLocal();
  }

  /** A candidate from the remote: applied once its description is, queued before. */
  async addCandidate(p: z.infer<(typeof SignalPayloads)['ice_candidate']>): Promise<void> {
    if ((p.conn && p.conn !== this.connId) || !p.candidate) return; // for an attempt that no longer exists
    const init: RTCIceCandidateInit = { candidate: p.candidate, sdpMid: p.sdpMid ?? '0', sdpMLineIndex: p.sdpMLineIndex ?? 0 };
    if (!this.#remoteSet) this.#pendingRemote.push(init);
    else await this.#addRemote(init);
  }

  /** The remote restarts ICE on this connection (an offer with our connection id): answer it. */
  async renegotiate(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.#o.signal('answer', { sdp: this.#sdp(answer), conn: this.connId, caps: [...this.#o.caps] });
  }

  /** We restart ICE on this connection (the offerer's part of recovery): sends the restart offer. */
  async restartIce(): Promise<void> {
    this.#restarting = true;
    this.pc.restartIce();
    const offer = await this.pc.createOffer({ iceRestart: true });
    await this.pc.setLocalDescription(offer);
    this.#heldLocal = [];
    this.#remoteSet = false; // the remote's new candidates wait for its answer
    this.#send('offer', { sdp: this.#sdp(offer), conn: this.connId, restart: true, caps: [...this.#o.caps] });
  }

  /** Runs `fn` after `ms` unless the connection is closed first. */
  timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** Closes channel and connection. Returns the bytes the channel still held: lost with it. */
  close(): number {
    if (this.#closed) return 0;
    this.#closed = true;
    let buffered = 0;
    try {
      buffered = this.dc?.bufferedAmount ?? 0;
    } catch {
      /* closed */
    }
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    try {
      this.dc?.close();
    } catch {
      /* ignore */
    }
    try {
      this.pc.close();
    } catch {
      /* ignore */
    }
    return buffered;
  }

  #attach(dc: RTCDataChannel): void {
    this.dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = this.#o.lowWaterBytes;
    this.#o.onChannel(dc);
  }

  #send<T extends 'offer' | 'answer'>(type: T, payload: z.input<(typeof SignalPayloads)[T]>): void {
    if (!this.#o.signal(type, payload)) throw new Error('signaling is down');
  }

  #sdp(desc: RTCSessionDescriptionInit): string {
    const sdp = desc.sdp ?? this.pc.localDescription?.sdp;
    if (!sdp) throw new Error(`no local ${desc.type} SDP`);
    return sdp;
  }

  async #flushRemote(): Promise<void> {
    for (const c of this.#pendingRemote.splice(0)) await this.#addRemote(c);
  }

  #addRemote(c: RTCIceCandidateInit): Promise<void> {
    return this.pc.addIceCandidate(c).catch((e: unknown) => this.#o.debug(`candidate refused: ${e instanceof Error ? e.message : String(e)}`));
  }

  #releaseLocal(): void {
    const held = this.#heldLocal;
    this.#heldLocal = null;
    for (const c of held ?? []) this.#o.signal('ice_candidate', c);
  }
}
