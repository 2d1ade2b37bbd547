import type { WebSocket } from 'ws';
import { LIMITS, REVOKED, REVOKED_CLOSE_CODE, REVOKED_CLOSE_REASON, decodeSignal, encodeSignal, type SignalMessage } from '../../mesh/protocol/index.ts';
import { RevokedError } from '../http/errors.ts';
import { revokedDeviceText } from '../auth/authenticator.ts';
import type { Principal } from '../auth/tokens.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { log } from '../log.ts';
import type { ClusterMessage, RedisCluster } from '../cluster.ts';
import { Broadcast, rawFrameSink, tcpSocketOf } from './raw-frames.ts';

/** Close codes of the signaling contract (docs/registry.md, Signaling; revoked: mesh/protocol/revocation.ts). */
export const CLOSE = { replaced: 4001, refused: 4003, limit: 4008, revoked: REVOKED_CLOSE_CODE } as const;
/** setTimeout's limit; a token living longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Types only the registry sends; a client sending one gets an error frame. */
const REGISTRY_ONLY = new Set(['peer_list', 'peer_joined', 'peer_left', 'peer_revoked', 'error']);
/** A peer that reads too slowly is dropped before its send buffer eats the memory. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const AUTH_DEADLINE_MS = 10_000;
/** Authenticated sockets of one peer that have not registered (yet): more are refused as busy. */
export const MAX_UNREGISTERED_PER_PEER = 4;

export interface HubOptions {
  verifyToken(token: string): Promise<Principal | undefined>;
  isRevoked(peerId: string): boolean;
  signalPerS: number;
  onPeersChanged(): void;
}

/** One signaling socket. Auth may come with the upgrade or as the first `auth` frame. */
export class SignalConn {
  principal: Principal | undefined;
  peerId: string | undefined;
  readonly #limiter: RateLimiter;
  #authTimer: NodeJS.Timeout | undefined;
  /** Ends the session when its token expires, unless an `auth` frame renewed it. */
  #expiryTimer: NodeJS.Timeout | undefined;
  #alive = true;
  closed = false;
  /** Frames waiting for this turn's flush; a frame goes out only after every frame queued before it. */
  #outbox: (string | Broadcast)[] = [];

  readonly #hub: SignalingHub;

  constructor(
    readonly ws: WebSocket,
    hub: SignalingHub,
    principal: Principal | undefined,
  ) {
    this.#hub = hub;
    if (principal) this.#authenticated(principal);
    // Burst of 2 s worth of frames (an ICE gathering burst), refilled at signalPerS.
    this.#limiter = new RateLimiter(hub.opts.signalPerS, 1000, hub.opts.signalPerS * 2);
    if (!principal) {
      this.#authTimer = setTimeout(() => this.refuse('no auth frame within 10 s'), AUTH_DEADLINE_MS);
      this.#authTimer.unref?.();
    }
    ws.on('pong', () => (this.#alive = true));
  }

  /** Queues a text frame; the hub flushes it this turn. */
  send(text: string | Broadcast): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.#outbox.push(text) === 1) this.#hub.scheduleFlush(this);
  }

  /**
   * Writes the queued frames with the TCP socket corked, so a turn's frames cost one writev instead
   * of one syscall per frame: registering N peers otherwise makes N² small writes.
   */
  flush(): void {
    const frames = this.#outbox;
    if (frames.length === 0) return;
    this.#outbox = [];
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED) {
      this.close(CLOSE.limit, 'too slow: send buffer full');
      return;
    }
    // Without the TCP socket (an unknown ws version) the frames still go out, uncorked, via ws.send.
    const tcp = tcpSocketOf(this.ws);
    // ws writes synchronously, so prebuilt frames keep their place among ws.send frames.
    const raw = rawFrameSink(this.ws);
    let run: Buffer[] = [];
    const writeRun = () => {
      if (run.length) raw!.write(run.length === 1 ? run[0]! : Buffer.concat(run));
      run = [];
    };
    tcp?.cork();
    try {
      for (const f of frames) {
        if (typeof f === 'string') writeRun(), this.ws.send(f);
        else if (raw) run.push(f.frame);
        else this.ws.send(f.text);
      }
      writeRun();
    } finally {
      tcp?.uncork();
    }
  }

  error(code: string, message: string): void {
    this.send(encodeSignal('error', 'registry', { code, message }));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.flush(); // an error frame queued just before must go out before the close frame
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
  }

  refuse(message: string): void {
    this.error('unauthorized', message);
    this.close(CLOSE.refused, message);
  }

  /** The revocation contract: error frame `revoked`, close 4003 with a reason starting "revoked". */
  revoked(message: string): void {
    this.error(REVOKED, message);
    this.close(CLOSE.revoked, `${REVOKED_CLOSE_REASON}: ${message}`);
  }

  /** Counted among its peer's unregistered sockets (until it registers or closes). */
  unregisteredOf: string | undefined;

  #authenticated(p: Principal): void {
    const first = !this.principal;
    this.principal = p;
    if (first && !this.#hub.admitUnregistered(this, p.peerId)) {
      return this.busy(`${p.peerId} already has ${MAX_UNREGISTERED_PER_PEER} sockets that did not register; register them or close them`);
    }
    clearTimeout(this.#expiryTimer);
    if (p.exp === undefined) return;
    this.#expiryTimer = setTimeout(
      () => {
        if (this.principal !== p) return;
        if (p.exp! * 1000 > Date.now()) return this.#authenticated(p); // beyond one timer's reach
        this.error('token_expired', 'the token of this session expired; send an auth frame with a fresh token before it does, or reconnect');
        this.close(CLOSE.refused, 'token expired');
      },
      Math.min(MAX_TIMER_MS, Math.max(0, p.exp * 1000 - Date.now())),
    );
    this.#expiryTimer.unref?.();
  }

  /** A token check: undefined when refused (this socket was told why). Revoked closes it. */
  async #verify(token: string): Promise<Principal | undefined> {
    try {
      return await this.#hub.opts.verifyToken(token);
    } catch (e) {
      if (!(e instanceof RevokedError)) throw e;
      this.revoked(e.message);
      return undefined;
    }
  }

  busy(message: string): void {
    this.error('busy', message);
    this.close(CLOSE.limit, 'busy');
  }

  /** Keepalive tick: a socket that missed the last pong is gone. */
  ping(): void {
    if (!this.#alive) {
      this.ws.terminate();
      return;
    }
    this.#alive = false;
    try {
      this.ws.ping();
    } catch {
      /* closing */
    }
  }

  #chain: Promise<void> = Promise.resolve();

  /** Frames are handled one after another: an auth frame's check finishes before the next frame runs. */
  onMessage(data: unknown): void {
    this.#chain = this.#chain.then(() => this.#handle(data)).catch((err) => log.error('[SIG] frame handling failed', err));
  }

  async #handle(data: unknown): Promise<void> {
    if (this.closed) return;
    if (typeof data !== 'string') return this.error('bad_frame', 'binary frames are not accepted; send JSON text');
    if (data.length > LIMITS.signalFrameBytes) {
      this.error('too_large', `frame of ${data.length} bytes exceeds ${LIMITS.signalFrameBytes}`);
      return this.close(CLOSE.limit, 'frame too large');
    }
    if (!this.#limiter.take('conn')) {
      this.error('rate_limited', `more than ${this.#hub.opts.signalPerS} frames per second`);
      return this.close(CLOSE.limit, 'rate limit');
    }
    const decoded = decodeSignal(data);
    if (!decoded.ok) {
      // Before authenticating, only a well-formed auth frame is worth an answer.
      if (!this.principal) return this.refuse(`authenticate first (${decoded.error.message})`);
      return this.error(decoded.error.code, decoded.error.message);
    }
    const msg = decoded.value;
    if (!this.principal) {
      if (msg.type !== 'auth') return this.refuse('authenticate first: Sec-WebSocket-Protocol, ?token= or an auth frame');
      const p = await this.#verify(msg.payload.token);
      if (this.closed || this.principal) return;
      if (!p) return this.refuse('token is invalid, expired or revoked');
      clearTimeout(this.#authTimer);
      this.#authenticated(p);
      this.#hub.waitingForAuth--;
      return;
    }
    if (REGISTRY_ONLY.has(msg.type)) return this.error('invalid', `"${msg.type}" is sent by the registry only`);
    switch (msg.type) {
      case 'auth':
        return await this.#renew(msg.payload.token);
      case 'heartbeat':
        return;
      case 'register':
        if (msg.peer_id && msg.peer_id !== this.principal.peerId) {
          return this.error('forbidden', `you are authenticated as ${this.principal.peerId}, not ${msg.peer_id}`);
        }
        return await this.#hub.register(this);
      case 'offer':
      case 'answer':
      case 'ice_candidate':
        return await this.#relay(msg);
      default:
        return this.error('unknown_type', `unhandled type "${msg.type}"`);
    }
  }

  /** An `auth` frame on an authenticated socket renews the session with a fresh token of the same peer. */
  async #renew(token: string): Promise<void> {
    const p = await this.#verify(token);
    if (this.closed) return;
    if (!p) return this.error('unauthorized', 'token is invalid or expired; the session keeps its current token');
    if (p.peerId !== this.principal!.peerId) return this.error('forbidden', `this session belongs to ${this.principal!.peerId}, not ${p.peerId}`);
    this.#authenticated(p);
  }

  async #relay(msg: SignalMessage): Promise<void> {
    if (!this.peerId) return this.error('not_registered', 'send register before offers, answers or candidates');
    if (msg.peer_id !== this.peerId) {
      return this.error('forbidden', `peer_id must be your authenticated id ${this.peerId}`);
    }
    if (!msg.target_id) return this.error('invalid', `${msg.type} needs a target_id`);
    const text = JSON.stringify({ type: msg.type, peer_id: msg.peer_id, target_id: msg.target_id, payload: msg.payload });
    const target = this.#hub.get(msg.target_id);
    if (target) return target.send(text);
    // Not here: maybe on another registry instance.
    if (this.#hub.cluster && (await this.#hub.cluster.relay(msg.target_id, text))) return;
    this.error('unknown_target', `peer ${msg.target_id} is not connected`);
  }

  onClose(): void {
    if (this.closed) return;
    if (!this.principal) this.#hub.waitingForAuth--;
    this.#hub.registeredOrGone(this);
    this.closed = true;
    this.#outbox = [];
    clearTimeout(this.#authTimer);
    clearTimeout(this.#expiryTimer);
    this.#hub.unregister(this);
  }
}

/** Registered peers by id; relays frames and tells peers who came and went. */
export class SignalingHub {
  readonly #peers = new Map<string, SignalConn>();
  /** The keys of `peers`, kept sorted on insert/delete: sorting all of them per registration was O(n log n) each. */
  readonly #sortedIds: string[] = [];
  /** Sockets with queued frames, flushed together once per event-loop turn. */
  readonly #pending = new Set<SignalConn>();
  #flushScheduled = false;
  readonly #all = new Set<SignalConn>();
  /** Open sockets that have not authenticated yet (each is closed after 10 s). */
  waitingForAuth = 0;
  readonly #keepalive: NodeJS.Timeout;
  /** Set when REDIS_URL joins this instance to others. */
  cluster: RedisCluster | undefined;

  constructor(readonly opts: HubOptions) {
    this.#keepalive = setInterval(() => this.#all.forEach((c) => c.ping()), 30_000);
    this.#keepalive.unref?.();
  }

  /** Sockets per peer id that authenticated and did not register. */
  readonly #unregistered = new Map<string, number>();

  /** Counts a newly authenticated socket; false when its peer already has too many unregistered. */
  admitUnregistered(conn: SignalConn, peerId: string): boolean {
    const n = this.#unregistered.get(peerId) ?? 0;
    if (n >= MAX_UNREGISTERED_PER_PEER) return false;
    this.#unregistered.set(peerId, n + 1);
    conn.unregisteredOf = peerId;
    return true;
  }

  /** The socket registered or closed: it no longer counts as unregistered. */
  registeredOrGone(conn: SignalConn): void {
    const id = conn.unregisteredOf;
    if (id === undefined) return;
    conn.unregisteredOf = undefined;
    const n = (this.#unregistered.get(id) ?? 1) - 1;
    if (n > 0) this.#unregistered.set(id, n);
    else this.#unregistered.delete(id);
  }

  accept(ws: WebSocket, principal: Principal | undefined): SignalConn {
    const conn = new SignalConn(ws, this, principal);
    this.#all.add(conn);
    if (!principal) this.waitingForAuth++;
    return conn;
  }

  get(peerId: string): SignalConn | undefined {
    return this.#peers.get(peerId);
  }

  peerIds(): string[] {
    return this.#sortedIds.slice();
  }

  scheduleFlush(conn: SignalConn): void {
    this.#pending.add(conn);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // setImmediate runs after this turn's I/O callbacks: every frame they queued shares one flush.
    setImmediate(() => this.#flushAll());
  }

  #flushAll(): void {
    this.#flushScheduled = false;
    const conns = [...this.#pending];
    this.#pending.clear();
    for (const c of conns) c.flush();
  }

  #setPeer(id: string, conn: SignalConn): void {
    if (!this.#peers.has(id)) this.#sortedIds.splice(this.#sortedIndex(id), 0, id);
    this.#peers.set(id, conn);
  }

  #deletePeer(id: string): void {
    if (!this.#peers.delete(id)) return;
    const i = this.#sortedIndex(id);
    if (this.#sortedIds[i] === id) this.#sortedIds.splice(i, 1);
  }

  /** First index whose id is not below `id` (same order as Array.prototype.sort on strings). */
  #sortedIndex(id: string): number {
    let lo = 0;
    let hi = this.#sortedIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#sortedIds[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** A refresh or reconnect: the newer socket wins, the old one is told not to come back. */
  #replaceLocal(id: string, keep?: SignalConn): void {
    const old = this.#peers.get(id);
    if (!old || old === keep) return;
    this.#deletePeer(id);
    old.peerId = undefined;
    old.close(CLOSE.replaced, 'replaced by a newer connection of the same peer id');
  }

  async register(conn: SignalConn): Promise<void> {
    const id = conn.principal!.peerId;
    if (this.opts.isRevoked(id)) return conn.revoked(revokedDeviceText(id));
    this.registeredOrGone(conn);
    this.#replaceLocal(id, conn);
    conn.peerId = id;
    this.#setPeer(id, conn);
    const remote = this.cluster ? (await this.cluster.joined(id), await this.cluster.remotePeers()) : [];
    const others = remote.length ? [...new Set([...this.#sortedIds, ...remote])].filter((p) => p !== id).sort() : this.#sortedIds.filter((p) => p !== id);
    conn.send(JSON.stringify({ type: 'peer_list', peer_id: 'registry', payload: { peers: others } }));
    this.broadcast(encodeSignal('peer_joined', 'registry', { peer_id: id }), id);
    // Not per peer at info: with thousands of peers the log line itself became a measurable cost.
    if (this.#peers.size % 1000 === 0) log.info(`[SIG] ${this.#peers.size} peers registered`);
    this.opts.onPeersChanged();
  }

  unregister(conn: SignalConn): void {
    this.#all.delete(conn);
    const id = conn.peerId;
    if (!id || this.#peers.get(id) !== conn) return;
    this.#deletePeer(id);
    this.broadcast(encodeSignal('peer_left', 'registry', { peer_id: id }), id);
    void this.cluster?.left(id);
    log.info(`[SIG] peer left: ${id} (total ${this.#peers.size})`);
    this.opts.onPeersChanged();
  }

  /**
   * Revocation on this instance (server/revocation.ts calls it on every instance): close the peer's
   * sockets as the revocation contract says and tell every other peer to drop its links to it.
   */
  revoke(peerId: string, message: string): void {
    for (const c of this.#all) if (c.principal?.peerId === peerId) c.revoked(message);
    this.broadcast(encodeSignal('peer_revoked', 'registry', { peer_id: peerId }), peerId);
  }

  /** What another instance tells this one about its peers. */
  onCluster(msg: ClusterMessage): void {
    switch (msg.kind) {
      case 'joined':
        this.#replaceLocal(msg.peer);
        this.broadcast(encodeSignal('peer_joined', 'registry', { peer_id: msg.peer }), msg.peer);
        this.opts.onPeersChanged();
        return;
      case 'left':
        if (!this.#peers.has(msg.peer)) this.broadcast(encodeSignal('peer_left', 'registry', { peer_id: msg.peer }), msg.peer);
        this.opts.onPeersChanged();
        return;
      case 'relay':
        this.#peers.get(msg.to)?.send(msg.text);
        return;
      default:
        return;
    }
  }

  /** One frame to every registered peer but `except`; encoded and framed once, not once per recipient. */
  broadcast(text: string, except?: string): void {
    const notice = new Broadcast(text);
    for (const [id, c] of this.#peers) if (id !== except) c.send(notice);
  }

  closeAll(): void {
    clearInterval(this.#keepalive);
    for (const c of this.#all) c.close(1001, 'registry shutting down');
  }
}
