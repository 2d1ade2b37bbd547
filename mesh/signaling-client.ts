import { REVOKED, decodeSignal, encodeSignal, isRevokedClose, type SignalMessage, type SignalType, type SignalPayloads } from './protocol/index.ts';
import { z } from 'zod';
import { Emitter } from './emitter.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { quietLogger, type Logger, type WebSocketCtor, type WebSocketLike } from './types.ts';
import { errorCode, errorStatus, unrefTimer } from './error-fields.ts';

/** Close codes the registry uses (docs/registry.md, Signaling). */
export const CLOSE_REPLACED = 4001;
export const CLOSE_REFUSED = 4003;
export const CLOSE_RATE_LIMIT = 4008;

export interface SignalingClientOptions {
  /** ws(s)://host:port/ws */
  url: string;
  peerId: string;
  WebSocket: WebSocketCtor;
  /** Returns a JWT; `refresh` asks for a new one (after the registry refused the last). */
  getToken: (refresh: boolean) => Promise<string>;
  backoff?: BackoffOptions;
  /** Interval of signaling `heartbeat` frames that keep idle proxies from closing the socket. */
  heartbeatMs?: number;
  logger?: Logger;
}

export type SignalingEvents = {
  /** Registered with the registry (after every reconnect). */
  connected: [];
  /** The socket closed; `reconnecting` says whether it will come back on its own. */
  disconnected: [info: { code: number; reason: string; reconnecting: boolean }];
  /** Full list of the other registered peers (after each register). */
  peers: [peers: string[]];
  peer_joined: [peerId: string];
  peer_left: [peerId: string];
  /** The registry revoked this peer: links to it must close now. */
  peer_revoked: [peerId: string];
  /** offer / answer / ice_candidate from another peer. */
  signal: [msg: SignalMessage<'offer' | 'answer' | 'ice_candidate'>];
  /** An `error` frame from the registry. */
  server_error: [err: { code: string; message: string }];
  /**
   * Stopped for good: replaced by a newer connection of the same peer id (4001), refused (4003), or
   * revoked (4003 with a reason starting "revoked", or a revoked token request; `message` says why).
   */
  stopped: [why: 'replaced' | 'refused' | 'closed' | 'revoked', message?: string];
};

/**
 * The peer's signaling socket to the registry. Authenticates with the JWT as a WebSocket
 * subprotocol (never in the URL), registers, follows presence, and comes back by itself after a
 * drop with exponential backoff + jitter. It never touches DataChannels: a drop here is the
 * control plane going away, not the data plane.
 */
export class SignalingClient extends Emitter<SignalingEvents> {
  readonly peerId: string;
  readonly #opts: SignalingClientOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #ws: WebSocketLike | null = null;
  #stopped = false;
  #registered = false;
  #refreshToken = false;
  #refusedOnce = false;
  /** The `error` frame's text that precedes a revocation close. */
  #revokedMessage: string | undefined;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  /** Renews the session before its token expires (the registry closes it at expiry otherwise). */
  #renewal: ReturnType<typeof setTimeout> | null = null;
  /** Peers the registry says are registered right now (signaling presence, not link state). */
  readonly present = new Set<string>();

  constructor(opts: SignalingClientOptions) {
    super();
    this.#opts = opts;
    this.peerId = opts.peerId;
    this.#log = opts.logger ?? quietLogger;
    this.#backoff = new Backoff({ initialMs: 250, maxMs: 10_000, ...opts.backoff });
  }

  get connected(): boolean {
    return this.#registered;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  /** Closes the socket for good (shutdown). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#clearHeartbeat();
    const ws = this.#ws;
    this.#ws = null;
    this.#registered = false;
    try {
      ws?.close(1000, 'shutdown');
    } catch {
      /* already closed */
    }
    this.emit('stopped', 'closed');
  }

  /** Sends one frame; false when the socket is not up (the caller retries later). */
  send<T extends SignalType>(type: T, payload: z.input<(typeof SignalPayloads)[T]>, targetId?: string): boolean {
    const ws = this.#ws;
    if (ws?.readyState !== 1 || (!this.#registered && type !== 'register')) return false;
    try {
      ws.send(encodeSignal(type, this.peerId, payload, targetId));
      return true;
    } catch (err) {
      this.#log.warn(`[signaling] send ${type} failed: ${String(err)}`);
      return false;
    }
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let token: string;
    try {
      token = await this.#opts.getToken(this.#refreshToken);
    } catch (err) {
      // After a 4003, a refused token request (401/403: revoked, key deleted) is final.
      const status = errorStatus(err);
      if (errorCode(err) === REVOKED) return this.#revoked(errorText(err));
      if (this.#refusedOnce && (status === 401 || status === 403)) {
        this.#log.error(`[signaling] the registry refused a new token (${errorText(err)}); giving up`);
        this.#stopped = true;
        this.emit('stopped', 'refused');
        return;
      }
      this.#log.warn(`[signaling] could not get a token: ${errorText(err)}`);
      return this.#scheduleReconnect();
    }
    if (this.#stopped) return;
    let ws: WebSocketLike;
    try {
      ws = new this.#opts.WebSocket(this.#opts.url, ['chatixia-jwt', token]);
    } catch (err) {
      this.#log.warn(`[signaling] cannot open ${this.#opts.url}: ${errorText(err)}`);
      return this.#scheduleReconnect();
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      ws.send(encodeSignal('register', this.peerId, {}));
      this.#registered = true;
      this.#refreshToken = false;
      this.#startHeartbeat();
      this.#scheduleRenewal(token);
      this.#log.info(`[signaling] registered as ${this.peerId}`);
      this.emit('connected');
    };
    ws.onmessage = (ev) => {
      if (this.#ws !== ws) return;
      const text = typeof ev.data === 'string' ? ev.data : String(ev.data);
      this.#onFrame(text);
    };
    ws.onerror = () => {
      /* onclose follows and decides */
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#onClose(ev.code, ev.reason ?? '');
    };
  }

  #onFrame(text: string): void {
    const d = decodeSignal(text);
    if (!d.ok) {
      this.#log.warn(`[signaling] ignored a bad frame: ${d.error.message}`);
      return;
    }
    const msg = d.value;
    switch (msg.type) {
      case 'peer_list': {
        // A successful register: the connection is healthy, start backoff from scratch next time.
        this.#backoff.reset();
        this.#refusedOnce = false;
        const peers = msg.payload.peers.filter((p) => p !== this.peerId);
        this.present.clear();
        for (const p of peers) this.present.add(p);
        this.emit('peers', peers);
        break;
      }
      case 'peer_joined':
        if (msg.payload.peer_id === this.peerId) break;
        this.present.add(msg.payload.peer_id);
        this.emit('peer_joined', msg.payload.peer_id);
        break;
      case 'peer_left':
        if (msg.payload.peer_id === this.peerId) break;
        this.present.delete(msg.payload.peer_id);
        this.emit('peer_left', msg.payload.peer_id);
        break;
      case 'peer_revoked':
        this.present.delete(msg.payload.peer_id);
        this.emit('peer_revoked', msg.payload.peer_id);
        break;
      case 'offer':
      case 'answer':
      case 'ice_candidate':
        if (!msg.peer_id || msg.peer_id === this.peerId) break;
        this.emit('signal', msg as SignalMessage<'offer' | 'answer' | 'ice_candidate'>);
        break;
      case 'error':
        // The revocation contract: this frame, then close 4003 "revoked…" (acted on at the close).
        if (msg.payload.code === REVOKED) this.#revokedMessage = msg.payload.message;
        this.#log.warn(`[signaling] registry error ${msg.payload.code}: ${msg.payload.message}`);
        this.emit('server_error', { code: msg.payload.code, message: msg.payload.message });
        break;
      default:
        break;
    }
  }

  #onClose(code: number, reason: string): void {
    const wasRegistered = this.#registered;
    this.#registered = false;
    this.#clearHeartbeat();
    if (this.#stopped) return;
    if (code === CLOSE_REPLACED) {
      this.#log.warn('[signaling] replaced by a newer connection with the same peer id; not reconnecting');
      this.#stopped = true;
      this.emit('disconnected', { code, reason, reconnecting: false });
      this.emit('stopped', 'replaced');
      return;
    }
    if (isRevokedClose(code, reason)) {
      this.emit('disconnected', { code, reason, reconnecting: false });
      return this.#revoked(this.#revokedMessage ?? reason);
    }
    if (code === CLOSE_REFUSED) {
      if (this.#refusedOnce) {
        this.#log.error('[signaling] the registry refused the token again; giving up');
        this.#stopped = true;
        this.emit('disconnected', { code, reason, reconnecting: false });
        this.emit('stopped', 'refused');
        return;
      }
      this.#refusedOnce = true;
      this.#refreshToken = true;
    } else if (!wasRegistered) {
      // Failed before registering (e.g. HTTP 401 on the upgrade, registry down): a fresh token may help.
      this.#refreshToken = this.#backoff.attempts > 0;
    }
    this.emit('disconnected', { code, reason, reconnecting: true });
    this.#scheduleReconnect();
  }

  /** This peer's credential was revoked: no reconnecting, ever, with it. */
  #revoked(message: string): void {
    this.#log.error(`[signaling] revoked: ${message}`);
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.emit('stopped', 'revoked', message);
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = this.#backoff.next();
    this.#log.info(`[signaling] reconnecting in ${delay} ms`);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, delay);
  }

  #startHeartbeat(): void {
    this.#clearHeartbeat();
    const ms = this.#opts.heartbeatMs ?? 20_000;
    this.#heartbeat = setInterval(() => this.send('heartbeat', {}), ms);
    unrefTimer(this.#heartbeat);
  }

  #clearHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    if (this.#renewal) clearTimeout(this.#renewal);
    this.#renewal = null;
  }

  /** At 80 % of the token's life, an `auth` frame with a fresh token keeps the session open. */
  #scheduleRenewal(token: string): void {
    const exp = jwtExpiry(token);
    if (exp === undefined) return;
    const ms = Math.min(2 ** 31 - 1, Math.max(1000, (exp * 1000 - Date.now()) * 0.8));
    this.#renewal = setTimeout(() => {
      this.#renewal = null;
      this.#opts.getToken(true).then(
        (fresh) => {
          if (this.send('auth', { token: fresh })) this.#scheduleRenewal(fresh);
        },
        (err: unknown) => this.#log.warn(`[signaling] could not renew the token: ${errorText(err)}`),
      );
    }, ms);
    unrefTimer(this.#renewal);
  }
}

const JwtExpiry = z.looseObject({ exp: z.number() });

/** The `exp` claim of a JWT (epoch s), read without verifying: only to time the renewal. */
function jwtExpiry(token: string): number | undefined {
  try {
    const claims = JwtExpiry.safeParse(JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))));
    return claims.success ? claims.data.exp : undefined;
  } catch {
    return undefined;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
