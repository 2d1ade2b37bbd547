/**
 * Typed client of the registry REST API (docs/registry.md). Isomorphic: only `fetch`, so the
 * sidecar (Node 20) and the web app use the same code. It exchanges an API key or a device
 * token for a JWT, renews it before it expires, and retries once after a 401.
 */
import { REVOKED, ROUTES, isRevokedBody, routePath, type RouteAnswer, type RouteBody, type RouteName, type RouteParams } from './protocol/index.ts';
import { readEventStream } from './registry-events.ts';
import type {
  AgentRecord,
  AgentRegistration,
  ApiErrorBody,
  ApiKeyCreated,
  ApiKeyInfo,
  AuditEntry,
  CertificateResponse,
  PublicKeyJwk,
  RegistryCaInfo,
  SkillPolicy,
  SkillPolicyInput,
  Heartbeat,
  HeartbeatResponse,
  HealthzResponse,
  IceConfig,
  OkResponse,
  PairingCode,
  PairingEntry,
  PairingStatusResponse,
  PairRequest,
  PairResponse,
  RegistryEvent,
  Role,
  Task,
  TaskState,
  TaskSubmission,
  TaskSubmitted,
  TaskUpdate,
  TokenResponse,
  Topology,
} from './protocol/index.ts';

/** What one call of a route takes: its path parameters, its body when it has one, a query string. */
export type CallArgs<N extends RouteName> = {
  params: RouteParams<N>;
  query?: Record<string, string | number | undefined>;
} & (RouteBody<N> extends undefined ? { body?: undefined } : { body: RouteBody<N> });

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface RegistryClientOptions {
  /** http(s)://host:port of the registry. */
  baseUrl: string;
  /** X-API-Key credential (agent or admin key). */
  apiKey?: string;
  /** Device token from pairing. */
  deviceToken?: string;
  /** A JWT obtained elsewhere (not renewed unless apiKey/deviceToken is also given). */
  token?: string;
  /** Admin keys only: the peer id this client wants in its token (e.g. one per browser tab). */
  peerId?: string;
  fetch?: typeof fetch;
  /** A request unanswered this long fails as `network` (default 20 s): a registry cut off by the
   *  network drops packets instead of refusing, and heartbeats must not wait minutes on TCP. */
  requestTimeoutMs?: number;
}

/** Renew this long before the JWT expires. */
const RENEW_MARGIN_MS = 30_000;

export class RegistryClient {
  readonly baseUrl: string;
  readonly #fetchFn: typeof fetch;
  #jwt: string | undefined;
  #jwtExpiresAt = 0;
  #identity: { peer_id: string; role: Role } | undefined;
  #pendingToken: Promise<TokenResponse> | undefined;
  readonly #revokedListeners = new Set<(message: string) => void>();

  readonly #opts: RegistryClientOptions;

  constructor(opts: RegistryClientOptions) {
    this.#opts = opts;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#fetchFn = opts.fetch ?? ((...a) => globalThis.fetch(...a));
    if (opts.token) {
      this.#jwt = opts.token;
      this.#jwtExpiresAt = Number.POSITIVE_INFINITY;
    }
  }

  /** Peer id and role of the current token (after the first token exchange). */
  get peer(): { peer_id: string; role: Role } | undefined {
    return this.#identity;
  }

  /** ws(s)://…/ws for the signaling socket. */
  signalingUrl(): string {
    return this.baseUrl.replace(/^http/, 'ws') + '/ws';
  }

  /**
   * Calls `cb` when any answer of the registry says this credential was revoked (a REST 401 with
   * code `revoked`, or `event: revoked` on the event stream). mesh/revocation.ts listens here.
   */
  onRevoked(cb: (message: string) => void): () => void {
    this.#revokedListeners.add(cb);
    return () => this.#revokedListeners.delete(cb);
  }

  /** The error for a revocation, after telling the listeners. */
  #revoked(message: string): RegistryError {
    for (const cb of [...this.#revokedListeners]) cb(message);
    return new RegistryError(401, REVOKED, message);
  }

  #canExchange(): boolean {
    return Boolean(this.#opts.apiKey || this.#opts.deviceToken);
  }

  /** POST /api/token: exchanges the key or device token for a JWT (cached until shortly before expiry). */
  async token(force = false): Promise<string> {
    if (!force && this.#jwt && Date.now() < this.#jwtExpiresAt - RENEW_MARGIN_MS) return this.#jwt;
    if (!this.#canExchange()) {
      if (this.#jwt) return this.#jwt;
      throw new RegistryError(401, 'unauthorized', 'no API key, device token or token configured');
    }
    this.#pendingToken ??= this.#exchange().finally(() => (this.#pendingToken = undefined));
    return (await this.#pendingToken).token;
  }

  async #exchange(): Promise<TokenResponse> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.#opts.apiKey) headers['X-API-Key'] = this.#opts.apiKey;
    else if (this.#opts.deviceToken) headers['X-Device-Token'] = this.#opts.deviceToken;
    const body = this.#opts.peerId ? { peer_id: this.#opts.peerId } : {};
    const res = await this.#raw<TokenResponse>(ROUTES.token.method, ROUTES.token.path, body, headers);
    this.#jwt = res.token;
    this.#jwtExpiresAt = Date.now() + res.expires_in * 1000;
    this.#identity = { peer_id: res.peer_id, role: res.role };
    return res;
  }

  async #raw<T>(method: string, path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<T> {
    const timeoutMs = this.#opts.requestTimeoutMs ?? 20_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.#fetchFn(this.baseUrl + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (e) {
      if (timeout.aborted && !signal?.aborted) throw new RegistryError(0, 'network', `registry did not answer within ${timeoutMs / 1000} s`);
      if ((e as Error).name === 'AbortError') throw e;
      throw new RegistryError(0, 'network', `registry unreachable: ${(e as Error).message}`);
    }
    let parsed: unknown;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!res.ok) {
      if (res.status === 401 && isRevokedBody(parsed)) throw this.#revoked(parsed.error);
      const err = (parsed as ApiErrorBody | undefined)?.error;
      throw new RegistryError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? (res.statusText || 'request failed'));
    }
    return parsed as T;
  }

  /** An authenticated request; on 401 the token is renewed once and the request retried. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const send = async (force: boolean) =>
      this.#raw<T>(
        method,
        path,
        body,
        { Authorization: `Bearer ${await this.token(force)}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        signal,
      );
    try {
      return await send(false);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 401 && e.code !== REVOKED && this.#canExchange()) return send(true);
      throw e;
    }
  }

  /**
   * One route of the registry (mesh/protocol/routes.ts), authenticated; its path, parameters, body
   * and answer types come from the same entry the registry mounts. Answers are not re-validated:
   * the registry built them from the same types.
   */
  async call<N extends RouteName>(name: N, req: CallArgs<N>, signal?: AbortSignal): Promise<RouteAnswer<N>> {
    return this.request(ROUTES[name].method, this.#pathOf(name, req), req.body, signal);
  }

  /** A public route (no credentials; extra headers such as the pairing claim secret). */
  async callPublic<N extends RouteName>(name: N, req: CallArgs<N>, headers: Record<string, string> = {}): Promise<RouteAnswer<N>> {
    const h = req.body === undefined ? headers : { 'Content-Type': 'application/json', ...headers };
    return this.#raw(ROUTES[name].method, this.#pathOf(name, req), req.body, h);
  }

  #pathOf<N extends RouteName>(name: N, req: CallArgs<N>): string {
    const path = routePath(name, req.params);
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
    const qs = q.toString();
    return qs ? `${path}?${qs}` : path;
  }

  // ── public ────────────────────────────────────────────────────────────────
  healthz(): Promise<HealthzResponse> {
    return this.callPublic('healthz', { params: {} });
  }

  // ── agents ────────────────────────────────────────────────────────────────
  listAgents(): Promise<AgentRecord[]> {
    return this.call('listAgents', { params: {} });
  }
  getAgent(agentId: string): Promise<AgentRecord> {
    return this.call('getAgent', { params: { id: agentId } });
  }
  async registerAgent(reg: AgentRegistration): Promise<AgentRecord> {
    return (await this.call('registerAgent', { params: {}, body: reg })).agent;
  }
  deleteAgent(agentId: string): Promise<OkResponse> {
    return this.call('deleteAgent', { params: { id: agentId } });
  }
  /** The active agent chosen for a skill, or null when none has it. */
  async route(skill: string): Promise<AgentRecord | null> {
    try {
      return await this.call('routeSkill', { params: {}, query: { skill } });
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'no_agent') return null;
      throw e;
    }
  }
  agentCard(agentId: string): Promise<Record<string, unknown>> {
    return this.call('agentCard', { params: { id: agentId } });
  }

  // ── heartbeat and tasks ───────────────────────────────────────────────────
  heartbeat(hb: Heartbeat): Promise<HeartbeatResponse> {
    return this.call('heartbeat', { params: {}, body: hb });
  }
  submitTask(sub: TaskSubmission): Promise<TaskSubmitted> {
    return this.call('submitTask', { params: {}, body: sub });
  }
  getTask(taskId: string): Promise<Task> {
    return this.call('getTask', { params: { id: taskId } });
  }
  async updateTask(taskId: string, upd: TaskUpdate): Promise<Task> {
    return (await this.call('updateTask', { params: { id: taskId }, body: upd })).task;
  }
  /** A streamed piece of a task this peer holds. */
  async taskChunk(taskId: string, text: string): Promise<void> {
    await this.call('taskChunk', { params: { id: taskId }, body: { text } });
  }
  listTasks(q: { state?: TaskState; limit?: number } = {}): Promise<Task[]> {
    return this.call('listTasks', { params: {}, query: q });
  }
  /** Polls a task until it is completed or failed (or the signal aborts). */
  async waitForTask(taskId: string, opts: { intervalMs?: number; signal?: AbortSignal } = {}): Promise<Task> {
    for (;;) {
      const t = await this.getTask(taskId);
      if (t.state === 'completed' || t.state === 'failed') return t;
      await sleep(opts.intervalMs ?? 500, opts.signal);
    }
  }

  // ── mesh ──────────────────────────────────────────────────────────────────
  config(): Promise<IceConfig> {
    return this.call('config', { params: {} });
  }
  topology(): Promise<Topology> {
    return this.call('topology', { params: {} });
  }

  // ── admin: keys and audit ─────────────────────────────────────────────────
  createKey(peerId: string, role: Role = 'agent'): Promise<ApiKeyCreated> {
    return this.call('createKey', { params: {}, body: { peer_id: peerId, role } });
  }
  listKeys(): Promise<ApiKeyInfo[]> {
    return this.call('listKeys', { params: {} });
  }
  deleteKey(peerId: string): Promise<OkResponse> {
    return this.call('deleteKey', { params: { peer_id: peerId } });
  }
  audit(q: { limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    return this.call('audit', { params: {}, query: q });
  }

  // ── pairing ───────────────────────────────────────────────────────────────
  generatePairingCode(): Promise<PairingCode> {
    return this.call('generatePairingCode', { params: {} });
  }
  /** Public: redeem a code (no credentials needed). */
  pair(req: PairRequest): Promise<PairResponse> {
    return this.callPublic('pair', { params: {}, body: req });
  }
  /** Public with the claim secret: the device token comes back once, after approval. */
  pairingStatus(id: string, claimSecret: string): Promise<PairingStatusResponse> {
    return this.callPublic('pairingStatus', { params: { id } }, { 'X-Claim-Secret': claimSecret });
  }
  pendingPairings(): Promise<PairingEntry[]> {
    return this.call('pendingPairings', { params: {} });
  }
  allPairings(): Promise<PairingEntry[]> {
    return this.call('allPairings', { params: {} });
  }
  approvePairing(id: string): Promise<PairingEntry> {
    return this.call('approvePairing', { params: { id } });
  }
  rejectPairing(id: string): Promise<PairingEntry> {
    return this.call('rejectPairing', { params: { id } });
  }
  revokePairing(id: string): Promise<PairingEntry> {
    return this.call('revokePairing', { params: { id } });
  }

  // ── skill policy ──────────────────────────────────────────────────────────
  policy(): Promise<SkillPolicy> {
    return this.call('policy', { params: {} });
  }
  /** Admin: replaces the policy (validated by the registry). */
  setPolicy(policy: SkillPolicyInput): Promise<SkillPolicy> {
    return this.call('setPolicy', { params: {}, body: policy });
  }

  // ── identity ──────────────────────────────────────────────────────────────
  /** Public: the registry CA to pin (also in config()). */
  registryCa(): Promise<RegistryCaInfo> {
    return this.callPublic('registryCa', { params: {} });
  }
  /** A certificate for this client's own peer id and the given public key. */
  requestCertificate(publicKeyJwk: PublicKeyJwk): Promise<CertificateResponse> {
    return this.call('requestCertificate', { params: {}, body: { public_key_jwk: publicKeyJwk } });
  }

  // ── live events ───────────────────────────────────────────────────────────
  /**
   * Reads GET /api/events until the signal aborts or the stream ends; each event goes to
   * `onEvent`. Resolves when the stream closes (the caller decides whether to reconnect).
   */
  async events(onEvent: (e: RegistryEvent) => void, signal?: AbortSignal): Promise<void> {
    const open = async (force: boolean) =>
      this.#fetchFn(this.baseUrl + '/api/events', {
        headers: { Authorization: `Bearer ${await this.token(force)}`, Accept: 'text/event-stream' },
        ...(signal ? { signal } : {}),
      });
    // A revoked token gets the same answer with a fresh one: ask once.
    const revokedAnswer = async (r: Response) => {
      if (r.status !== 401) return undefined;
      const body: unknown = await r
        .clone()
        .json()
        .catch(() => undefined);
      return isRevokedBody(body) ? body.error : undefined;
    };
    let res = await open(false);
    const first = await revokedAnswer(res);
    if (first !== undefined) throw this.#revoked(first);
    if (res.status === 401 && this.#canExchange()) res = await open(true);
    if (!res.ok || !res.body) {
      const again = await revokedAnswer(res);
      if (again !== undefined) throw this.#revoked(again);
      const text = await res.text().catch(() => '');
      let msg = res.statusText;
      try {
        msg = (JSON.parse(text) as ApiErrorBody).error.message;
      } catch {
        /* not JSON */
      }
      throw new RegistryError(res.status, 'events', msg || 'cannot open the event stream');
    }
    return readEventStream(res.body, onEvent, (message) => this.#revoked(message), signal);
  }

  /** URL for `new EventSource(...)` where headers cannot be set (the token is in the query). */
  async eventsUrl(): Promise<string> {
    return `${this.baseUrl}/api/events?token=${encodeURIComponent(await this.token())}`;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted) return rej(signal.reason);
    const t = setTimeout(res, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        rej(signal.reason);
      },
      { once: true },
    );
  });
}
