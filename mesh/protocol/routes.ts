/**
 * The registry's REST routes, defined once: method, path (Hono's `:param` syntax), the schema of
 * the body the registry reads and the type of what it answers. The registry mounts its handlers
 * on these paths and parses bodies with these schemas; RegistryClient builds its requests from the
 * same entries, so a path, a parameter or a body type cannot drift between the two (docs/registry.md).
 */
import { z } from 'zod';
import {
  AgentRegistration,
  Heartbeat,
  TaskChunk,
  TaskSubmission,
  TaskUpdate,
  ApiKeyCreate,
  CertificateRequestBody,
  PairRequest,
  TokenRequest,
  type AgentRecord,
  type ApiKeyCreated,
  type ApiKeyInfo,
  type AuditEntry,
  type CertificateResponse,
  type HealthzResponse,
  type HeartbeatResponse,
  type IceConfig,
  type OkResponse,
  type PairingCode,
  type PairingEntry,
  type PairingStatusResponse,
  type PairResponse,
  type RegistryCaInfo,
  type Task,
  type TaskSubmitted,
  type TokenResponse,
  type Topology,
} from './rest.ts';
import type { SkillPolicy } from './identity.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route<M extends Method, P extends string, B extends z.ZodType | undefined, A> {
  method: M;
  path: P;
  /** The body schema the registry parses (undefined: no body). */
  body: B;
  /** Type-level only: what the registry answers with a 2xx. */
  answer?: A;
}

/** `route<Answer>()(method, path, bodySchema?)`: the answer type is named, the rest inferred. */
function route<A>() {
  return <const M extends Method, const P extends string, B extends z.ZodType | undefined = undefined>(method: M, path: P, body?: B): Route<M, P, B, A> => ({
    method,
    path,
    body: body as B,
  });
}

/** PUT /api/policy takes any JSON object; the registry checks it with its policy parser. */
const PolicyBody = z.record(z.string(), z.unknown());

export const ROUTES = {
  healthz: route<HealthzResponse>()('GET', '/healthz'),
  token: route<TokenResponse>()('POST', '/api/token', TokenRequest),
  config: route<IceConfig>()('GET', '/api/config'),

  listAgents: route<AgentRecord[]>()('GET', '/api/registry/agents'),
  getAgent: route<AgentRecord>()('GET', '/api/registry/agents/:id'),
  registerAgent: route<{ agent: AgentRecord }>()('POST', '/api/registry/agents', AgentRegistration),
  deleteAgent: route<OkResponse>()('DELETE', '/api/registry/agents/:id'),
  agentCard: route<Record<string, unknown>>()('GET', '/api/registry/agents/:id/card'),
  routeSkill: route<AgentRecord>()('GET', '/api/registry/route'),

  heartbeat: route<HeartbeatResponse>()('POST', '/api/hub/heartbeat', Heartbeat),
  submitTask: route<TaskSubmitted>()('POST', '/api/hub/tasks', TaskSubmission),
  listTasks: route<Task[]>()('GET', '/api/hub/tasks/all'),
  getTask: route<Task>()('GET', '/api/hub/tasks/:id'),
  updateTask: route<{ task: Task }>()('POST', '/api/hub/tasks/:id', TaskUpdate),
  taskChunk: route<OkResponse>()('POST', '/api/hub/tasks/:id/chunks', TaskChunk),
  topology: route<Topology>()('GET', '/api/hub/network/topology'),

  createKey: route<ApiKeyCreated>()('POST', '/api/keys', ApiKeyCreate),
  listKeys: route<ApiKeyInfo[]>()('GET', '/api/keys'),
  deleteKey: route<OkResponse>()('DELETE', '/api/keys/:peer_id'),
  audit: route<AuditEntry[]>()('GET', '/api/audit'),

  generatePairingCode: route<PairingCode>()('POST', '/api/pairing/generate-code'),
  pair: route<PairResponse>()('POST', '/api/pairing/pair', PairRequest),
  pairingStatus: route<PairingStatusResponse>()('GET', '/api/pairing/:id/status'),
  pendingPairings: route<PairingEntry[]>()('GET', '/api/pairing/pending'),
  allPairings: route<PairingEntry[]>()('GET', '/api/pairing/all'),
  approvePairing: route<PairingEntry>()('POST', '/api/pairing/:id/approve'),
  rejectPairing: route<PairingEntry>()('POST', '/api/pairing/:id/reject'),
  revokePairing: route<PairingEntry>()('POST', '/api/pairing/:id/revoke'),

  policy: route<SkillPolicy>()('GET', '/api/policy'),
  setPolicy: route<SkillPolicy>()('PUT', '/api/policy', PolicyBody),

  registryCa: route<RegistryCaInfo>()('GET', '/api/identity/ca'),
  requestCertificate: route<CertificateResponse>()('POST', '/api/identity/certificate', CertificateRequestBody),
} as const;

export type RouteName = keyof typeof ROUTES;
type RouteOf<N extends RouteName> = (typeof ROUTES)[N];

/** The `:name` parameters of a path, as an object type (`{}` when there are none). */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;
export type RouteParams<N extends RouteName> = { [K in ParamNames<RouteOf<N>['path']>]: string };
/** What the caller sends: the schema's input type (defaults may be left out). */
export type RouteBody<N extends RouteName> = RouteOf<N>['body'] extends z.ZodType ? z.input<RouteOf<N>['body']> : undefined;
export type RouteAnswer<N extends RouteName> = NonNullable<RouteOf<N>['answer']>;

/** The path of a route with its parameters filled in (each one URL-encoded). */
export function routePath<N extends RouteName>(name: N, params: RouteParams<N>): string {
  const values: Record<string, string> = params;
  return ROUTES[name].path.replace(/:([a-z_]+)/g, (_, k: string) => encodeURIComponent(values[k] ?? ''));
}
