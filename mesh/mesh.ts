import { Emitter } from './emitter.ts';
import { PeerLink, LinkError, type LinkAuth } from './peer-link.ts';
import { randomId } from './ids.ts';
import { FrameError } from './framing.ts';
import type { SignalingClient } from './signaling-client.ts';
import { quietLogger, type LinkInfo, type LinkState, type Logger, type RTCPeerConnectionCtor, type SkillInfo } from './types.ts';
import { checkMeshPayload, decodeMeshMessage, isOpenStreamChunk, LIMITS, payloadOf, type MeshMessage } from './protocol/index.ts';

export interface MeshOptions {
  signaling: SignalingClient;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** ICE servers (from the registry's /api/config) — a function, because TURN credentials expire. */
  iceServers?: () => RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Largest reassembled message accepted or sent (default LIMITS.meshMessageBytes = 64 MiB). */
  maxMessageBytes?: number;
  /** Default timeout of `request()`. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
  deadAfterMs?: number;
  /** Try ICE restart before a fresh connection. Off for node-datachannel (it cannot), on in browsers. */
  iceRestart?: boolean;
  /** Skills of the agents on this peer, for answering `skill_query`. */
  skills?: () => SkillInfo[];
  /** Identity proof exchanged on every new link before it counts as open (mesh/identity). */
  linkAuth?: LinkAuth;
  /** Dial discovered peers automatically (default true). False = only `connect()` opens links. */
  autoConnect?: boolean;
  /** Wait this long for a newly joined peer's offer before dialing it ourselves. */
  joinGraceMs?: number;
  logger?: Logger;
}

export type MeshEvents = {
  peer_connected: [peerId: string];
  peer_disconnected: [peerId: string, reason: string];
  link_state: [peerId: string, state: LinkState];
  /**
   * Messages that a link accepted but could not confirm as delivered before it closed for good
   * (the peer left). Earlier drops are healed by resending on the next connection.
   */
  undelivered: [peerId: string, messages: MeshMessage[], reason: string];
  /** A link was closed because an identity proof failed. */
  link_refused: [peerId: string, reason: string, message: string];
  /** A message the peer refused or could not read (invalid JSON, too large, bad payload). */
  invalid_message: [peerId: string, error: { code: string; message: string }];
};

export type MessageHandler = (msg: MeshMessage, fromPeer: string) => void;

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Receives `*_stream_chunk` messages (done: false) correlated with the request. */
  onChunk?: (msg: MeshMessage) => void;
}

export interface BroadcastResult {
  sent: string[];
  failed: { peer_id: string; error: string }[];
}

export class MeshError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MeshError';
  }
}

interface Pending {
  peer: string;
  resolve: (m: MeshMessage) => void;
  reject: (e: Error) => void;
  onChunk?: ((m: MeshMessage) => void) | undefined;
  cleanup: () => void;
}

/**
 * The mesh as agents see it: links to every other peer plus send / broadcast / request and
 * message handlers. Discovery: a peer dials the peers in the `peer_list` it gets when it
 * registers (the newcomer offers, as the Rust sidecar does); peers it learns of through
 * `peer_joined` are dialed only when their offer does not come within `joinGraceMs`.
 * `peer_left` never closes a link (control plane down ≠ data plane down); it only triggers a
 * quick liveness probe of that link.
 */
export class Mesh {
  readonly events = new Emitter<MeshEvents>();
  readonly #o: MeshOptions;
  readonly #log: Logger;
  readonly #sig: SignalingClient;
  readonly #links = new Map<string, PeerLink>();
  readonly #handlers = new Map<string, Set<MessageHandler>>();
  readonly #pending = new Map<string, Pending>();
  readonly #joinTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #offs: (() => void)[] = [];
  #closed = false;

  constructor(opts: MeshOptions) {
    this.#o = opts;
    this.#sig = opts.signaling;
    this.#log = opts.logger ?? quietLogger;
    this.#offs.push(
      this.#sig.on('peers', (peers) => {
        if (opts.autoConnect === false) return;
        for (const p of peers) {
          const l = this.#link(p);
          if (!l.active) l.dial();
        }
      }),
      this.#sig.on('peer_joined', (p) => {
        if (opts.autoConnect === false) return;
        const l = this.#link(p);
        if (l.isOpen || l.active) return;
        this.#clearJoin(p);
        this.#joinTimers.set(
          p,
          setTimeout(() => {
            this.#joinTimers.delete(p);
            if (!l.active && !this.#closed) l.dial();
          }, opts.joinGraceMs ?? 2_000),
        );
      }),
      this.#sig.on('peer_left', (p) => {
        this.#clearJoin(p);
        const l = this.#links.get(p);
        if (!l) return;
        if (l.isOpen) l.probe();
        else l.cancelRedial();
      }),
      this.#sig.on('peer_revoked', (p) => {
        this.#clearJoin(p);
        const l = this.#links.get(p);
        if (!l) return;
        this.#links.delete(p);
        l.close();
      }),
      this.#sig.on('signal', (msg) => void this.#link(msg.peer_id).handleSignal(msg)),
    );
  }

  get peerId(): string {
    return this.#sig.peerId;
  }

  get signaling(): SignalingClient {
    return this.#sig;
  }

  /** Peers with an open DataChannel. */
  peers(): string[] {
    return [...this.#links.values()].filter((l) => l.isOpen).map((l) => l.remoteId);
  }

  isConnected(peerId: string): boolean {
    return this.#links.get(peerId)?.isOpen ?? false;
  }

  link(peerId: string): PeerLink | undefined {
    return this.#links.get(peerId);
  }

  /** Opens a link to a peer (if none) and resolves when it is open. */
  connect(peerId: string, timeoutMs = 20_000): Promise<void> {
    if (peerId === this.peerId) return Promise.reject(new MeshError('invalid', 'cannot connect to ourselves'));
    const l = this.#link(peerId);
    if (l.isOpen) return Promise.resolve();
    if (!l.active) l.dial();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new MeshError('timeout', `no link to ${peerId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = l.on('open', () => {
        clearTimeout(t);
        off();
        resolve();
      });
    });
  }

  /** Sends one message to one peer. Rejects when there is no open link or the message is too large. */
  async send(peerId: string, msg: MeshMessage): Promise<void> {
    const l = this.#links.get(peerId);
    if (!l?.isOpen) throw new MeshError('not_connected', `no open link to ${peerId}`);
    try {
      await l.send(JSON.stringify(msg));
    } catch (err) {
      throw toMeshError(err);
    }
  }

  /**
   * Sends one message and resolves once the remote peer acknowledged it (`'peer'`, across
   * reconnections and resends) or, to a peer that cannot acknowledge (Rust sidecar), once it is on
   * the channel (`'sent'`). Rejects like `send`, or with `link_lost` when the mesh gives up on it
   * (that message is then not part of an `undelivered` event).
   */
  async sendConfirmed(peerId: string, msg: MeshMessage): Promise<'peer' | 'sent'> {
    const l = this.#links.get(peerId);
    if (!l?.isOpen) throw new MeshError('not_connected', `no open link to ${peerId}`);
    try {
      return await l.sendConfirmed(JSON.stringify(msg));
    } catch (err) {
      throw toMeshError(err);
    }
  }

  /** Sends to every open link; `target_agent` defaults to "*". */
  async broadcast(msg: MeshMessage): Promise<BroadcastResult> {
    const m = { ...msg, target_agent: msg.target_agent || '*' };
    const peers = this.peers();
    const results = await Promise.allSettled(peers.map((p) => this.send(p, m)));
    const out: BroadcastResult = { sent: [], failed: [] };
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') out.sent.push(peers[i]!);
      else out.failed.push({ peer_id: peers[i]!, error: (r.reason as Error).message });
    });
    return out;
  }

  /**
   * Sends a message and resolves with the correlated reply (same `request_id`, from that peer):
   * the first reply that is not an unfinished `*_stream_chunk`. Chunks go to `onChunk`.
   */
  request(peerId: string, msg: MeshMessage, opts: RequestOptions = {}): Promise<MeshMessage> {
    const requestId = msg.request_id || randomId(6);
    const key = `${peerId}\u0000${requestId}`;
    if (this.#pending.has(key)) return Promise.reject(new MeshError('duplicate', `request ${requestId} is already pending`));
    if (opts.signal?.aborted) return Promise.reject(new MeshError('aborted', 'request aborted'));
    const timeoutMs = opts.timeoutMs ?? this.#o.requestTimeoutMs ?? 30_000;
    return new Promise<MeshMessage>((resolve, reject) => {
      const timer = setTimeout(() => finish(new MeshError('timeout', `no reply from ${peerId} within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => finish(new MeshError('aborted', 'request aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(key);
      };
      const finish = (err: Error | null, reply?: MeshMessage) => {
        if (!this.#pending.has(key)) return;
        cleanup();
        if (err) reject(err);
        else resolve(reply!);
      };
      this.#pending.set(key, {
        peer: peerId,
        resolve: (m) => finish(null, m),
        reject: (e) => finish(e),
        onChunk: opts.onChunk,
        cleanup,
      });
      this.send(peerId, { ...msg, request_id: requestId }).catch((e) => finish(e as Error));
    });
  }

  /** Subscribes to messages of one type, or every message with '*'. Returns the unsubscribe function. */
  on(type: string, handler: MessageHandler): () => void {
    let set = this.#handlers.get(type);
    if (!set) this.#handlers.set(type, (set = new Set()));
    set.add(handler);
    return () => set!.delete(handler);
  }

  /** State, path type and RTT of every link that exists. */
  async linkStats(): Promise<LinkInfo[]> {
    const out: LinkInfo[] = [];
    for (const l of this.#links.values()) {
      if (l.state === 'closed' && !l.active) continue;
      const s = l.isOpen ? await l.stats() : { path: 'unknown' as const };
      out.push({ peer_id: l.remoteId, state: l.state, extended: l.extended, ...s });
    }
    return out;
  }

  /** Closes every link (shutdown). Does not stop the signaling client; the owner does. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs) off();
    for (const t of this.#joinTimers.values()) clearTimeout(t);
    this.#joinTimers.clear();
    for (const p of this.#pending.values()) p.reject(new MeshError('closed', 'mesh closed'));
    for (const l of this.#links.values()) l.close();
    this.#links.clear();
  }

  // ─── internals ──────────────────────────────────────────────────────

  #link(peerId: string): PeerLink {
    let l = this.#links.get(peerId);
    if (l) return l;
    l = new PeerLink({
      localId: this.peerId,
      remoteId: peerId,
      RTCPeerConnection: this.#o.RTCPeerConnection,
      rtcConfig: () => ({
        iceServers: this.#o.iceServers?.() ?? [],
        iceTransportPolicy: this.#o.iceTransportPolicy ?? 'all',
      }),
      signal: (type, payload) => this.#sig.send(type, payload, peerId),
      shouldRedial: () => !this.#closed && this.#sig.present.has(peerId),
      logger: this.#log,
      ...(this.#o.connectTimeoutMs !== undefined && { connectTimeoutMs: this.#o.connectTimeoutMs }),
      ...(this.#o.keepaliveMs !== undefined && { keepaliveMs: this.#o.keepaliveMs }),
      ...(this.#o.deadAfterMs !== undefined && { deadAfterMs: this.#o.deadAfterMs }),
      iceRestart: this.#o.iceRestart ?? false,
      maxMessageBytes: this.#o.maxMessageBytes ?? LIMITS.meshMessageBytes,
      ...(this.#o.linkAuth && { linkAuth: this.#o.linkAuth }),
    });
    const link = l;
    l.on('open', () => {
      this.#clearJoin(peerId);
      this.events.emit('peer_connected', peerId);
    });
    l.on('down', (why) => {
      for (const p of [...this.#pending.values()]) {
        if (p.peer === peerId) p.reject(new MeshError('link_lost', `link to ${peerId} went down: ${why}`));
      }
      this.events.emit('peer_disconnected', peerId, why);
    });
    l.on('state', (s) => this.events.emit('link_state', peerId, s));
    l.on('refused', (reason, message) => this.events.emit('link_refused', peerId, reason, message));
    l.on('undelivered', (jsons, reason) => {
      const msgs: MeshMessage[] = [];
      for (const j of jsons) {
        try {
          msgs.push(JSON.parse(j) as MeshMessage);
        } catch {
          /* we serialized it ourselves */
        }
      }
      this.#log.warn(`[mesh] ${msgs.length} message(s) to ${peerId} were not confirmed delivered: ${reason}`);
      for (const p of [...this.#pending.values()]) {
        if (p.peer === peerId) p.reject(new MeshError('link_lost', reason));
      }
      this.events.emit('undelivered', peerId, msgs, reason);
    });
    l.on('message', (text) => this.#onMessage(link, text));
    l.on('frame_error', (err) => this.#refuse(link, undefined, err.code, err.message));
    this.#links.set(peerId, l);
    return l;
  }

  #clearJoin(peerId: string): void {
    const t = this.#joinTimers.get(peerId);
    if (t) clearTimeout(t);
    this.#joinTimers.delete(peerId);
  }

  #onMessage(link: PeerLink, text: string): void {
    const from = link.remoteId;
    const d = decodeMeshMessage(text, this.#o.maxMessageBytes ?? LIMITS.meshMessageBytes);
    if (!d.ok) return this.#refuse(link, undefined, d.error.code, d.error.message);
    const msg = d.value;
    const p = checkMeshPayload(msg);
    if (!p.ok) {
      if (msg.type === 'task_request') {
        void this.send(from, reply(msg, 'task_response', { error: `invalid task_request: ${p.error.message}` })).catch(() => {});
      }
      return this.#refuse(link, msg, p.error.code, `${msg.type}: ${p.error.message}`);
    }
    if (msg.request_id) {
      const pending = this.#pending.get(`${from}\u0000${msg.request_id}`);
      if (pending && !isRequestType(msg.type)) {
        if (isOpenStreamChunk(msg)) pending.onChunk?.(msg);
        else pending.resolve(msg);
        return;
      }
    }
    if (msg.type === 'ping') {
      void this.send(from, reply(msg, 'pong', { ...(isObject(msg.payload) ? msg.payload : {}), peer_id: this.peerId })).catch(() => {});
      return;
    }
    if (msg.type === 'skill_query' && this.#o.skills) {
      const skills = this.#o.skills();
      const wanted = payloadOf(msg, 'skill_query')?.skill;
      const payload = wanted ? { available: skills.some((s) => s.name === wanted), skills } : { available: skills.length > 0, skills };
      void this.send(from, reply(msg, 'skill_response', payload)).catch(() => {});
      return;
    }
    this.#deliver(msg, from);
  }

  #deliver(msg: MeshMessage, from: string): void {
    const fns = [...(this.#handlers.get(msg.type) ?? []), ...(this.#handlers.get('*') ?? [])];
    if (fns.length === 0) this.#log.debug(`[mesh] no handler for ${msg.type} from ${from}`);
    for (const fn of fns) {
      try {
        fn(msg, from);
      } catch (err) {
        this.#log.error(`[mesh] handler for ${msg.type} threw: ${String(err)}`);
      }
    }
  }

  /** Logs a refused message and tells the sender (if it speaks our extensions; never answers an error). */
  #refuse(link: PeerLink, msg: MeshMessage | undefined, code: string, message: string): void {
    this.#log.warn(`[mesh] refused a message from ${link.remoteId}: ${code}: ${message}`);
    this.events.emit('invalid_message', link.remoteId, { code, message });
    if (!link.extended || msg?.type === 'error') return;
    const err: MeshMessage = { type: 'error', payload: { code, message } };
    if (msg?.request_id) err.request_id = msg.request_id;
    void link.send(JSON.stringify(err)).catch(() => {});
  }
}

/** Builds a reply to `msg`: same request_id, agents swapped. */
export function reply(msg: MeshMessage, type: string, payload: unknown): MeshMessage {
  const r: MeshMessage = { type, payload };
  if (msg.request_id) r.request_id = msg.request_id;
  if (msg.target_agent && msg.target_agent !== '*') r.source_agent = msg.target_agent;
  if (msg.source_agent) r.target_agent = msg.source_agent;
  return r;
}

/** Types that start an exchange; a request never resolves on one of these (e.g. a ping echoing its id). */
function isRequestType(t: string): boolean {
  return t === 'task_request' || t === 'skill_query' || t === 'ping' || t === 'agent_prompt';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toMeshError(err: unknown): MeshError {
  if (err instanceof MeshError) return err;
  if (err instanceof LinkError) return new MeshError(err.code, err.message);
  if (err instanceof FrameError) return new MeshError(err.code, err.message);
  return new MeshError('send_failed', err instanceof Error ? err.message : String(err));
}
