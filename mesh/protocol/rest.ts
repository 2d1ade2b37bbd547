import { z } from 'zod';
import { Id } from './common.ts';
import { LIMITS } from './limits.ts';
import { PublicKeyJwkSchema, SkillPolicySchema, type PublicKeyJwk, type SkillPolicy } from './identity.ts';
import { BackedBy, SkillSpecs } from './skills.ts';

/**
 * Registry REST bodies (docs/registry.md), wire-compatible with the Rust registry of chatixia-mesh:
 * field names and defaults follow its serde structs, so its Python agents keep working.
 * Request schemas are loose (unknown fields pass) and bounded; response types are what the
 * registry answers. Every error answer is `ApiErrorBody`.
 */

const Text = (max = 1024) => z.string().max(max);
/** Skill and server names: the id alphabet, so no control characters or markup reach logs or pages. */
const Names = z.array(Id).max(256);

export const Role = z.enum(['agent', 'admin']);
export type Role = z.infer<typeof Role>;

export interface ApiErrorBody {
  error: { code: string; message: string };
}

// ── auth ────────────────────────────────────────────────────────────────────

/** POST /api/token body (optional). `peer_id` only counts with an admin key; `device_token` may replace the header. */
export const TokenRequest = z.looseObject({ peer_id: Id.optional(), device_token: z.string().max(256).optional() });
export type TokenRequest = z.infer<typeof TokenRequest>;
export interface TokenResponse {
  token: string;
  peer_id: string;
  role: Role;
  /** Seconds until the JWT expires. */
  expires_in: number;
}

/** POST /api/keys (admin). */
export const ApiKeyCreate = z.looseObject({ peer_id: Id, role: Role.default('agent') });
export type ApiKeyCreate = z.input<typeof ApiKeyCreate>;
export interface ApiKeyCreated {
  key: string;
  peer_id: string;
  role: Role;
}
/** GET /api/keys item: never the secret. `source`: where the key comes from. */
export interface ApiKeyInfo {
  peer_id: string;
  role: Role;
  source: 'admin_file' | 'env' | 'keys_file' | 'api';
  created_at: string | null;
}

// ── agents ──────────────────────────────────────────────────────────────────

export const AgentCapabilities = z
  .looseObject({
    skills: Names.default([]),
    /** Extension: a description and args schema per skill, beside the plain names the Rust/Python agents read. */
    skill_specs: SkillSpecs.optional(),
    mcp_servers: Names.default([]),
    /** Extension: the agent stands for an MCP server or an external A2A agent (docs/interop.md). */
    backed_by: BackedBy.optional(),
    goals_count: z.number().int().min(0).max(1e9).default(0),
    mode: Text(64).default(''),
  })
  .superRefine((c, ctx) => {
    const names = new Set(c.skills);
    for (const [i, s] of (c.skill_specs ?? []).entries()) {
      if (!names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['skill_specs', i, 'name'], message: `"${s.name}" is not in capabilities.skills` });
    }
  });
export type AgentCapabilities = z.infer<typeof AgentCapabilities>;

/** POST /api/registry/agents: register or update (the Rust `AgentInfo`, plus `peer_id` and a description). */
export const AgentRegistration = z.looseObject({
  agent_id: Id,
  hostname: Text(255).default(''),
  ip: Text(64).default(''),
  port: z.number().int().min(0).max(65535).default(8000),
  /** The peer the agent lives on (Rust name). */
  sidecar_peer_id: z.union([Id, z.literal('')]).default(''),
  /** Same as sidecar_peer_id (our name); defaults to the caller's peer id. */
  peer_id: Id.optional(),
  capabilities: AgentCapabilities.default({ skills: [], mcp_servers: [], goals_count: 0, mode: '' }),
  status: Text(64).default(''),
  mode: Text(64).default(''),
  description: Text(2048).optional(),
});
export type AgentRegistration = z.input<typeof AgentRegistration>;

export type Health = 'active' | 'stale' | 'offline';

/** An agent as the registry answers it (flat like the Rust `AgentRecord`). */
export interface AgentRecord {
  agent_id: string;
  hostname: string;
  ip: string;
  port: number;
  sidecar_peer_id: string;
  /** The peer this agent lives on (equals sidecar_peer_id when that is set). */
  peer_id: string;
  capabilities: AgentCapabilities;
  status: string;
  mode: string;
  description?: string | undefined;
  health: Health;
  registered_at: string;
  last_heartbeat: string;
}

// ── heartbeat ───────────────────────────────────────────────────────────────

export const LinkPath = z.enum(['host', 'srflx', 'prflx', 'relay', 'unknown']);
export type LinkPath = z.infer<typeof LinkPath>;
/** One open DataChannel of the reporting peer. */
export const LinkReport = z.looseObject({
  peer_id: Id,
  path: LinkPath.default('unknown'),
  rtt_ms: z.number().min(0).max(600_000).optional(),
});
export type LinkReport = z.infer<typeof LinkReport>;

/** POST /api/hub/heartbeat (the Rust `Heartbeat`, plus `links` and `peer_id`). */
export const Heartbeat = z.looseObject({
  agent_id: Id,
  hostname: Text(255).default(''),
  ip: Text(64).default(''),
  port: z.number().int().min(0).max(65535).default(8000),
  status: Text(64).default(''),
  mode: Text(64).default(''),
  skills_count: z.number().int().min(0).max(1e6).default(0),
  goals_count: z.number().int().min(0).max(1e9).default(0),
  uptime_seconds: z.number().min(0).max(1e12).default(0),
  skill_names: Names.default([]),
  sidecar_peer_id: z.union([Id, z.literal('')]).default(''),
  peer_id: Id.optional(),
  links: z.array(LinkReport).max(1024).optional(),
});
export type Heartbeat = z.input<typeof Heartbeat>;
export interface HeartbeatResponse {
  status: 'ok';
  pending_tasks: Task[];
  /** Advertised skills the policy lets only other peers offer (`providers`): dropped from the record. */
  refused_skills?: string[];
}

// ── tasks ───────────────────────────────────────────────────────────────────

export const TaskState = z.enum(['pending', 'assigned', 'completed', 'failed']);
export type TaskState = z.infer<typeof TaskState>;

/** POST /api/hub/tasks (the Rust `TaskSubmission`, plus an idempotency key). */
export const TaskSubmission = z
  .looseObject({
    skill: z.union([Id, z.literal('')]).default(''),
    target_agent_id: z.union([Id, z.literal('')]).default(''),
    source_agent_id: z.union([Id, z.literal('')]).default(''),
    payload: z.unknown().default({}),
    /** Seconds; default TASK_TTL_S (300). */
    ttl: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
    /** A retried submission with the same key answers the first task instead of queueing another. */
    idempotency_key: z.string().min(1).max(LIMITS.idChars).optional(),
  })
  .refine((t) => t.skill !== '' || t.target_agent_id !== '', 'skill or target_agent_id is required');
export type TaskSubmission = z.input<typeof TaskSubmission>;
export interface TaskSubmitted {
  task_id: string;
}

/** POST /api/hub/tasks/:id (the Rust `TaskUpdate`; result may be any JSON, Python agents send strings). */
export const TaskUpdate = z.looseObject({
  state: TaskState,
  result: z.unknown().optional(),
  error: Text(64 * 1024).optional(),
});
export type TaskUpdate = z.input<typeof TaskUpdate>;

/** POST /api/hub/tasks/:id/chunks: a streamed piece of a held task's answer (the A2A and MCP doors pass it on). */
export const TaskChunk = z.object({ text: Text(64 * 1024) });
export type TaskChunk = z.infer<typeof TaskChunk>;

/**
 * A queued task whose skill is `agent_prompt` is a prompt for its target agent's chat (what an A2A
 * text message becomes): payload `{text}`; the answer's text is the result. The skill policy
 * names it `agent_prompt`, as for a prompt over a DataChannel.
 */
export const PROMPT_SKILL = 'agent_prompt';
export const QueuedPrompt = z.looseObject({
  text: z
    .string()
    .min(1)
    .max(256 * 1024),
});

export interface Task {
  id: string;
  skill: string;
  target_agent_id: string;
  source_agent_id: string;
  assigned_agent_id: string;
  payload: unknown;
  state: TaskState;
  /** "" until a result arrives (Rust default). */
  result: unknown;
  error: string;
  /** Epoch seconds (float), as in the Rust registry. */
  created_at: number;
  updated_at: number;
  ttl: number;
  /**
   * How many times the task was handed to an agent (optional, not in the Rust registry). Above 1
   * when a holder stopped heartbeating and the task was re-queued for another agent.
   */
  attempts?: number;
  /** The peer that submitted it and its role (not in the Rust registry; absent in announcements, see `announceTask`). */
  submitter_peer_id?: string;
  submitter_role?: Role;
  /** The peer whose claim made it the holder ("" until claimed; kept after it finished). */
  holder_peer_id?: string;
}

/**
 * Who may see a task (docs/trust.md): its submitter, its holder and admins get the whole task. A
 * peer that could claim a pending one (it is aimed at one of the peer's agents, or names only a
 * skill) gets this announcement instead — enough to heartbeat at once, no payload or result.
 */
export function announceTask(t: Task): Task {
  return {
    id: t.id,
    skill: t.skill,
    target_agent_id: t.target_agent_id,
    source_agent_id: '',
    assigned_agent_id: '',
    payload: null,
    state: t.state,
    result: '',
    error: '',
    created_at: t.created_at,
    updated_at: t.updated_at,
    ttl: t.ttl,
  };
}

/** The skill a task asks for: its `skill`, or (Rust/Python agents) `payload.skill`; "" when neither. */
export function taskSkills(t: { skill?: string | undefined; payload?: unknown }): string[] {
  const named = TaskPayloadSkill.safeParse(t.payload);
  return [...new Set([t.skill ?? '', named.success ? named.data.skill : ''].filter((s) => s !== ''))];
}
const TaskPayloadSkill = z.looseObject({ skill: z.string().min(1).max(LIMITS.idChars) });

export interface OkResponse {
  status: 'ok';
}

// ── topology ────────────────────────────────────────────────────────────────

export interface TopologyNode {
  agent_id: string;
  ip: string;
  port: number;
  hostname: string;
  sidecar_peer_id: string;
  peer_id: string;
  mode: string;
  skills_count: number;
  health: Health;
  /** Peer ids this agent's peer reported open DataChannels to. */
  mesh_peers: string[];
}
export interface MeshEdge {
  from_peer: string;
  to_peer: string;
  path: LinkPath;
  rtt_ms?: number;
  /** Epoch seconds of the report. */
  updated_at: number;
}
export interface Topology {
  nodes: TopologyNode[];
  mesh_edges: MeshEdge[];
  /** Peers with an open signaling socket right now. */
  signaling_peers: string[];
}

// ── config ──────────────────────────────────────────────────────────────────

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}
export interface IceConfig {
  iceServers: IceServer[];
  /** Set from ICE_TRANSPORT_POLICY when the operator forces TURN. */
  iceTransportPolicy?: 'all' | 'relay';
  /** The CA that signs device certificates: peers pin it on first use. */
  registry_ca?: RegistryCaInfo;
  /** Who may call which skill (GET/PUT /api/policy); receiving peers enforce it, so does the task queue. */
  skill_policy?: SkillPolicy;
}

export interface RegistryCaInfo {
  /** RFC 7638 thumbprint of public_key_jwk (the `kid` of certificates). */
  kid: string;
  public_key_jwk: PublicKeyJwk;
}

/** POST /api/identity/certificate: a peer with a key or token asks for a certificate of its own key. */
export const CertificateRequestBody = z.looseObject({ public_key_jwk: PublicKeyJwkSchema });
export type CertificateRequestBody = z.input<typeof CertificateRequestBody>;
export interface CertificateResponse {
  peer_id: string;
  certificate: string;
  registry_ca: RegistryCaInfo;
}

// ── pairing ─────────────────────────────────────────────────────────────────

export interface PairingCode {
  code: string;
  /** Seconds the code stays valid. */
  expires_in: number;
  expires_at: number;
}

/** POST /api/pairing/pair (public, rate limited). */
export const PairRequest = z.looseObject({
  code: z.string().regex(/^\d{6}$/, 'code must be exactly 6 digits'),
  agent_name: z.string().trim().min(1).max(LIMITS.idChars),
  /** The device identity key (ECDSA P-256 public JWK); the registry certifies it on approval. */
  public_key: PublicKeyJwkSchema.optional(),
});
export type PairRequest = z.input<typeof PairRequest>;

export type PairingStatus = 'pending_approval' | 'approved' | 'rejected' | 'revoked';
export interface PairResponse {
  id: string;
  status: PairingStatus;
  peer_id: string;
  /** Present the secret to GET /api/pairing/:id/status to collect the device token once. */
  claim_secret: string;
}
export interface PairingStatusResponse {
  id: string;
  status: PairingStatus;
  peer_id: string;
  /** Only in the first answer after approval, with the right claim secret. */
  device_token?: string;
  /** Compact device certificate (mesh/identity) when the device sent a public key; after approval. */
  certificate?: string;
  /** The registry CA that signed it (pin it; also in GET /api/config). */
  registry_ca?: RegistryCaInfo;
}
export interface PairingEntry {
  id: string;
  agent_name: string;
  peer_id: string;
  status: PairingStatus;
  /** Thumbprint of the device key it sent, if any. */
  key_id: string | null;
  /** The device collected its token (after approval). */
  token_claimed: boolean;
  /** Address the request came from (for the admin deciding). */
  client_ip: string;
  /** Epoch seconds. */
  created_at: number;
  updated_at: number;
}

// ── audit ───────────────────────────────────────────────────────────────────

export interface AuditEntry {
  id: number;
  /** Epoch seconds. */
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: Record<string, unknown>;
}

// ── live events (GET /api/events, text/event-stream, one JSON object per `data:` line) ──

export type RegistryEvent =
  | { type: 'agents'; data: AgentRecord[] }
  | { type: 'tasks'; data: Task }
  | { type: 'topology'; data: Topology }
  | { type: 'pairing'; data: PairingEntry }
  | { type: 'audit'; data: AuditEntry }
  | { type: 'policy'; data: SkillPolicy };
export type RegistryEventType = RegistryEvent['type'];

const RegistryEventEnvelope = z.object({ type: z.enum(['agents', 'tasks', 'topology', 'pairing', 'audit', 'policy']), data: z.unknown() });

/**
 * One `data:` line of the event stream, or null when it is not JSON or not an event. A `policy`
 * event is checked in full, because the peer enforces it; the others are shown, and typed as the
 * registry sends them, like its REST answers.
 */
export function decodeRegistryEvent(text: string): RegistryEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const event = RegistryEventEnvelope.safeParse(json);
  if (!event.success) return null;
  if (event.data.type !== 'policy') return event.data as RegistryEvent;
  const policy = SkillPolicySchema.safeParse(event.data.data);
  return policy.success ? { type: 'policy', data: policy.data } : null;
}

export interface HealthzResponse {
  status: 'ok';
  version: string;
  storage: 'pglite' | 'postgres';
  uptime_s: number;
}
