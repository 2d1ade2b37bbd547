/**
 * One peer, as a sidecar and a browser tab both run it: signaling → mesh → agent hub, the
 * registry's configuration kept fresh (ICE servers with their short-lived TURN credentials, the
 * skill policy), the device certificate renewed, the peer kept in the registry (presence) and
 * revocation watched. What differs between a Node process and a tab is injected: the WebSocket and
 * RTCPeerConnection constructors, how the identity is proven, how ICE servers are encoded, and what
 * a revocation does. Built in two steps, because a tab's agents run before the registry is reached:
 * the constructor wires everything without touching the network; `join()` signs in and starts.
 */
import { AgentHub } from './agent-hub.ts';
import { Mesh } from './mesh.ts';
import { SignalingClient } from './signaling-client.ts';
import type { RegistryClient } from './registry-client.ts';
import { RegistryPresence, type RegistryPresenceOptions } from './registry-presence.ts';
import { RENEW_CHECK_MS, skillGuard, type JoinedIdentity } from './identity/join.ts';
import type { LinkAuth } from './link/identity-gate.ts';
import { registerLlmSupport } from './llm/catalog.ts';
import { watchRevocation } from './revocation.ts';
import { sleep } from './backoff.ts';
import type { IceConfig, SkillPolicy } from './protocol/index.ts';
import { silentLogger, type Logger, type RTCPeerConnectionCtor, type WebSocketCtor } from './types.ts';

/** How often the registry's configuration is fetched again (TURN credentials are ephemeral). */
const CONFIG_REFRESH_MS = 10 * 60_000;
/** How long `stop()` waits for the last heartbeat and the records' removal. */
const STOP_WAIT_MS = 3000;

export interface PeerRuntimeOptions {
  registry: RegistryClient;
  peerId: string;
  /** Default: the registry's own `/ws`. */
  signalingUrl?: string;
  WebSocket: WebSocketCtor;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** Try ICE restart before a fresh connection (browsers can; node-datachannel cannot). */
  iceRestart: boolean;
  /** The ICE servers for a new connection, from the registry's (a sidecar adds its own TURN and encodes them for its stack). */
  iceServers?: (fromRegistry: RTCIceServer[]) => RTCIceServer[];
  /** 'relay' forces TURN whatever the registry says; with 'all' (the default) the registry may force it. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  maxMessageBytes?: number;
  /** Bytes queued per agent before overflow (a tab is not a server: it keeps less). */
  maxQueuedBytes?: number;
  /** The role known from an earlier sign-in, until the registry answers. */
  role?: string;
  /**
   * This device's key and registry certificate, so every link proves who is at each end; proven on
   * each `join()`. Null: links open without proofs (peers that require them refuse).
   */
  proveIdentity(): Promise<JoinedIdentity | null>;
  /** How the registry shows this peer and its agents. */
  presence: Pick<RegistryPresenceOptions, 'hostname' | 'mode' | 'intervalMs' | 'agents' | 'watchTasks'>;
  /** Offer the `delegate` skill to this peer's own agents (a tab's LLM agents use it to call skills). */
  delegate: boolean;
  /**
   * Called once, right after signaling started; presence (records, queued tasks) starts when it
   * resolves. A tab opens its dashboard feed here, so the feed sees this peer's first records, and
   * waits for the agents saved in the browser.
   */
  beforePresence?: () => Promise<unknown>;
  /** Said once, with the registry's words, when any channel says this peer was revoked. Nothing retries. */
  onRevoked(message: string): void;
  onCertificateRenewed?(certificate: string): void;
  logger?: Logger;
}

export class PeerRuntime {
  readonly signaling: SignalingClient;
  readonly mesh: Mesh;
  readonly hub: AgentHub;
  readonly presence: RegistryPresence;
  readonly #o: PeerRuntimeOptions;
  readonly #log: Logger;
  #config: IceConfig = { iceServers: [] };
  #identity: JoinedIdentity | null = null;
  /** The skill check for requests from other peers, made when the identity is proven (not per request). */
  #guard: ReturnType<typeof skillGuard> | undefined;
  #started = false;
  #joined = false;
  #stopped = false;
  readonly #timers: Array<ReturnType<typeof setInterval>> = [];
  readonly #offs: Array<() => void> = [];

  constructor(o: PeerRuntimeOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    const log = this.#log;
    this.signaling = new SignalingClient({
      url: o.signalingUrl ?? o.registry.signalingUrl(),
      peerId: o.peerId,
      WebSocket: o.WebSocket,
      getToken: (refresh) => o.registry.token(refresh),
      logger: log,
    });
    const runtime = this;
    this.mesh = new Mesh({
      signaling: this.signaling,
      RTCPeerConnection: o.RTCPeerConnection,
      iceServers: () => {
        const servers = this.#config.iceServers.map((s) => ({ ...s }));
        return o.iceServers ? o.iceServers(servers) : servers;
      },
      // Read at each new connection: the registry may force TURN after start.
      get iceTransportPolicy() {
        return runtime.iceTransportPolicy;
      },
      ...(o.maxMessageBytes ? { maxMessageBytes: o.maxMessageBytes } : {}),
      iceRestart: o.iceRestart,
      skills: () => this.hub.skills(),
      linkAuth: this.#linkAuth(),
      logger: log,
    });
    this.hub = new AgentHub({
      mesh: this.mesh,
      ...(o.maxQueuedBytes ? { maxQueuedBytes: o.maxQueuedBytes } : {}),
      authorize: (from, msg) => this.#guard?.(from, msg) ?? { allowed: true, reason: 'no device certificate' },
      logger: log,
    });
    this.presence = new RegistryPresence({
      registry: o.registry,
      mesh: this.mesh,
      hub: this.hub,
      ...o.presence,
      logger: log,
      policy: () => this.policy,
      onPolicy: (p) => this.setPolicy(p),
    });
    registerLlmSupport(
      this.hub,
      { hub: this.hub, mesh: this.mesh, registry: o.registry, logger: log, policy: () => this.policy, role: () => this.role },
      { delegate: o.delegate },
    );
    this.#offs.push(
      watchRevocation({ registry: o.registry, signaling: this.signaling }, (m) => o.onRevoked(m)),
      // Back after a drop (a registry restart, say): announce at once and catch up on what changed meanwhile.
      this.signaling.on('connected', () => {
        if (!this.#joined) return;
        this.presence.kick();
        void this.#refreshConfig();
      }),
    );
  }

  get peerId(): string {
    return this.#o.peerId;
  }
  /** The registry's role for this peer (`agent`, `admin`…), or the one known from before. */
  get role(): string {
    return this.#o.registry.peer?.role ?? this.#o.role ?? 'agent';
  }
  /** Who may call which skill here: the registry's policy, enforced by this receiving peer too. */
  get policy(): SkillPolicy | undefined {
    return this.#config.skill_policy;
  }
  get iceTransportPolicy(): RTCIceTransportPolicy {
    return this.#o.iceTransportPolicy === 'relay' || this.#config.iceTransportPolicy === 'relay' ? 'relay' : 'all';
  }
  /** This device's proven identity, once `join()` got it. */
  get identity(): JoinedIdentity | null {
    return this.#identity;
  }
  /** Signed in, with signaling and presence running. */
  get joined(): boolean {
    return this.#joined;
  }

  /** A `policy` event from the registry's event stream: enforced from the next request on. */
  setPolicy(policy: SkillPolicy): void {
    this.#config = { ...this.#config, skill_policy: policy };
  }

  /**
   * Signs in, fetches the configuration, proves the identity, then starts signaling, presence and
   * the refresh timers. Rejects while the registry cannot be reached or refuses: call again (what
   * started once is not started twice).
   */
  async join(): Promise<void> {
    if (this.#joined) return;
    await this.#o.registry.token();
    await this.#refreshConfig();
    this.#identity = await this.#o.proveIdentity();
    this.#guard = this.#identity ? skillGuard(this.#identity.linkAuth, () => this.policy) : undefined;
    if (this.#stopped) throw new Error('stopped');
    if (this.#started) return;
    this.#started = true;
    this.#timers.push(
      setInterval(() => void this.#refreshConfig(), CONFIG_REFRESH_MS),
      // A peer may run for longer than its certificate: renew it before it lapses.
      setInterval(() => void this.#renewCertificate(), RENEW_CHECK_MS),
    );
    this.signaling.start();
    await this.#o.beforePresence?.().catch(() => {});
    if (this.#stopped) return; // stopped meanwhile: no heartbeat after stop()
    this.presence.start();
    this.#joined = true;
  }

  /**
   * Stops everything. `removeRecords` false: the registry already removed this peer's records (it
   * was revoked) and would refuse the requests.
   */
  async stop(removeRecords = true): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    for (const off of this.#offs) off();
    // Presence stops now; what the caller stops right after this call (its agents) sends no heartbeat.
    const gone = this.#joined ? this.presence.stop(removeRecords).catch(() => {}) : undefined;
    await Promise.race([gone, sleep(STOP_WAIT_MS)]);
    this.hub.close();
    this.mesh.close();
    this.signaling.stop();
  }

  async #refreshConfig(): Promise<void> {
    try {
      this.#config = await this.#o.registry.config();
    } catch (e) {
      this.#log.warn(`[runtime] /api/config failed (${(e as Error).message}); keeping the ICE settings and skill policy held`);
    }
  }

  async #renewCertificate(): Promise<void> {
    try {
      const renewed = await this.#identity?.renewIfDue();
      if (renewed) this.#o.onCertificateRenewed?.(renewed);
    } catch (e) {
      this.#log.warn(`[identity] certificate renewal failed (retrying tomorrow): ${(e as Error).message}`);
    }
  }

  /** Proofs with the identity of the moment: none before `join()` proved one (no link opens before signaling starts). */
  #linkAuth(): LinkAuth {
    const auth = () => this.#identity?.linkAuth;
    return {
      required: (p) => {
        const a = auth();
        return a ? (a.required?.(p) ?? true) : false;
      },
      proofFrame: (p, conn) => auth()!.proofFrame(p, conn),
      check: (p, conn, text) => auth()!.check(p, conn, text),
      refusal: (c) => auth()!.refusal(c),
    };
  }
}
