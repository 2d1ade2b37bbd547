import type { RegistryConfig } from './config.ts';
import type { Db } from './storage/db.ts';
import { AgentStore } from './storage/agents.ts';
import { TaskStore } from './storage/tasks.ts';
import { LinkStore } from './storage/links.ts';
import { KeyStore } from './storage/keys.ts';
import { AuditLog } from './storage/audit.ts';
import { Authenticator } from './auth/authenticator.ts';
import type { TokenSigner } from './auth/tokens.ts';
import type { StaticKeys } from './auth/keys-file.ts';
import { EventBus, coalesce } from './bus.ts';
import { Emitter } from '../mesh/emitter.ts';
import { RateLimiter } from './http/rate-limit.ts';
import type { SkillPolicy, Topology, TopologyNode } from '../mesh/protocol/index.ts';
import type { SignalingHub } from './signaling/hub.ts';
import { PairingStore } from './storage/pairing.ts';
import { IdentityStore } from './storage/identities.ts';
import type { CertificateAuthority } from './pairing/ca.ts';
import { LiveSessions } from './sessions.ts';

export const now = () => Date.now() / 1000;

/** Everything the routes share: config, stores, auth, live events and rate limits. */
export class RegistryState {
  readonly agents: AgentStore;
  readonly tasks: TaskStore;
  readonly links: LinkStore;
  readonly keys: KeyStore;
  readonly audit: AuditLog;
  readonly pairing: PairingStore;
  readonly identities: IdentityStore;
  /** Set at start (creating the CA key is async). */
  ca!: CertificateAuthority;
  readonly auth: Authenticator;
  readonly bus = new EventBus();
  /**
   * Streamed pieces of queued tasks, for the A2A and MCP doors of this instance (not on the SSE
   * stream, not across instances: a door waits on the instance its holder posts to — docs/interop.md).
   */
  readonly taskChunks = new Emitter<{ chunk: [taskId: string, text: string] }>();
  /** Open event streams by peer (a revocation ends them). */
  readonly sessions = new LiveSessions();
  readonly startedAt = Date.now();
  readonly limits: { token: RateLimiter; pairing: RateLimiter; pairingWrong: RateLimiter; task: RateLimiter; pairingStatus: RateLimiter };
  hub!: SignalingHub;
  adminKeySource: 'env' | 'admin_file' = 'admin_file';
  /** The skill policy in force (loaded at start, replaced by PUT /api/policy). */
  skillPolicy: SkillPolicy = { default: 'allow', rules: [] };

  /** Coalesced notifications: many changes in a burst become one event. */
  readonly agentsChanged = coalesce(async () => {
    this.bus.publish({ type: 'agents', data: (await this.agents.list(now())).map((a) => a.record) });
    this.topologyChanged();
  }, 50);
  readonly topologyChanged = coalesce(async () => {
    this.bus.publish({ type: 'topology', data: await this.topology() });
  }, 50);

  constructor(
    readonly cfg: RegistryConfig,
    readonly db: Db,
    signer: TokenSigner,
    adminKey: string,
    staticKeys: StaticKeys,
  ) {
    this.agents = new AgentStore(db, { staleS: cfg.healthStaleS, offlineS: cfg.healthOfflineS });
    this.tasks = new TaskStore(db);
    this.links = new LinkStore(db);
    this.keys = new KeyStore(db);
    this.audit = new AuditLog(db);
    this.pairing = new PairingStore(db);
    this.identities = new IdentityStore(db);
    this.auth = new Authenticator(signer, adminKey, staticKeys, this.keys);
    this.limits = {
      token: new RateLimiter(cfg.rate.tokenPerMin),
      pairing: new RateLimiter(cfg.rate.pairingPerMin),
      // Wrong codes from all addresses together: many addresses (or one proxy) cannot add up guesses.
      pairingWrong: new RateLimiter(cfg.rate.pairingWrongPerMin),
      task: new RateLimiter(cfg.rate.taskPerMin),
      // Status polling by a waiting device (every 1-2 s); the claim secret is unguessable anyway.
      pairingStatus: new RateLimiter(cfg.rate.pairingStatusPerMin),
    };
  }

  async record(actor: string, action: string, target: string, detail: Record<string, unknown> = {}): Promise<void> {
    const entry = await this.audit.append(actor, action, target, detail, now());
    this.bus.publish({ type: 'audit', data: entry });
  }

  /** True when a paired device owns this peer id (so nobody else may claim it). */
  async isDevicePeer(peerId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM pairing WHERE peer_id = $1 LIMIT 1', [peerId])).length > 0;
  }

  async topology(): Promise<Topology> {
    const t = now();
    const agents = await this.agents.list(t);
    const edges = await this.links.edges(t - this.cfg.healthOfflineS);
    const neighbours = new Map<string, Set<string>>();
    for (const e of edges) {
      if (!neighbours.has(e.from_peer)) neighbours.set(e.from_peer, new Set());
      if (!neighbours.has(e.to_peer)) neighbours.set(e.to_peer, new Set());
      neighbours.get(e.from_peer)!.add(e.to_peer);
      neighbours.get(e.to_peer)!.add(e.from_peer);
    }
    const nodes: TopologyNode[] = agents.map(({ record: a }) => ({
      agent_id: a.agent_id,
      ip: a.ip,
      port: a.port,
      hostname: a.hostname,
      sidecar_peer_id: a.sidecar_peer_id,
      peer_id: a.peer_id,
      mode: a.mode,
      skills_count: a.capabilities.skills.length,
      health: a.health,
      mesh_peers: [...(neighbours.get(a.peer_id) ?? [])].sort(),
    }));
    const remote = (await this.hub?.cluster?.remotePeers()) ?? [];
    const signaling = [...new Set([...(this.hub ? this.hub.peerIds() : []), ...remote])].sort();
    return { nodes, mesh_edges: edges, signaling_peers: signaling };
  }
}
