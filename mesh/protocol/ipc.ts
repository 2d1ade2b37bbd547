import { z } from 'zod';
import { Id } from './common.ts';
import { LIMITS } from './limits.ts';
import { MeshMessageSchema } from './message.ts';
import { check, decode, fail, type Decoded } from './decode.ts';
import { BackedBy, SKILL_LIMITS, SkillSpec } from './skills.ts';

/**
 * IPC lines between a local agent and its peer (docs/sidecar.md, The IPC protocol): JSON lines over the sidecar's
 * Unix socket, and the same objects over postMessage between the tab and its worker agents.
 */
/**
 * Extension (this project): an agent that puts `ack_id` on a `send`/`broadcast` gets an `ack` line
 * naming it once the message is accepted (see `ack` below), or an `error` line carrying the same
 * `ack_id`. Agents that never set it (the Python MeshClient) get exactly the Rust sidecar's lines.
 */
const AckId = Id.optional();

export const AgentCommands = {
  send: z.looseObject({ target_peer: Id, message: MeshMessageSchema, ack_id: AckId }),
  broadcast: z.looseObject({ message: MeshMessageSchema, ack_id: AckId }),
  list_peers: z.looseObject({}),
  /** The Rust docs name the field `peer_id`, older agents send `target_peer_id`: both are accepted. */
  connect: z.looseObject({ target_peer_id: Id.optional(), peer_id: Id.optional() }).refine((p) => p.target_peer_id ?? p.peer_id, 'target_peer_id is required'),
  /**
   * Extension (this project): an agent announces its name and skills so several agents can share
   * one peer — messages with `target_agent` = name and `task_request`s for its skills go to it.
   * Agents that never send it (the Python MeshClient) get every message, as with the Rust sidecar.
   */
  register_agent: z.looseObject({
    name: Id,
    /** Skill names, or specs with a description and a JSON Schema for the args (protocol/skills.ts). */
    skills: z
      .array(z.union([Id, SkillSpec]))
      .max(SKILL_LIMITS.skillsPerAgent)
      .refine((s) => JSON.stringify(s).length <= SKILL_LIMITS.specsChars, `the skills are more than ${SKILL_LIMITS.specsChars} characters as JSON`)
      .default([]),
    /** Extension: the agent stands for an MCP server or an external A2A agent (protocol/skills.ts). */
    backed_by: BackedBy.optional(),
  }),
} as const;

export const PeerEvents = {
  message: z.looseObject({ from_peer: z.string().max(LIMITS.idChars), message: MeshMessageSchema }),
  peer_connected: z.looseObject({ peer_id: Id }),
  peer_disconnected: z.looseObject({ peer_id: Id }),
  peer_list: z.looseObject({ peers: z.array(Id) }),
  /** `ack_id` / `request_id` (extensions) name the `send` or request the error is about. */
  error: z.looseObject({
    code: z.string().max(64),
    message: z.string().max(4096),
    ack_id: Id.optional(),
    request_id: z.string().max(LIMITS.idChars).optional(),
  }),
  /** Extension: answer to `register_agent`, tells the agent the id of the peer it lives on. */
  registered: z.looseObject({ peer_id: Id, name: Id }),
  /**
   * Extension: the message of a `send`/`broadcast` with this `ack_id` was accepted.
   * `confirmed`: "peer" — the remote peer acknowledged it (for a broadcast: every peer in `peers`);
   * "sent" — handed to a link that cannot acknowledge (a Rust peer); "local" — routed to this peer's
   * own agents/built-ins. A broadcast lists the peers it failed for in `failed` (each also got an
   * `error` line with the ack_id).
   */
  ack: z.looseObject({
    ack_id: Id,
    confirmed: z.enum(['peer', 'sent', 'local']),
    target_peer: Id.optional(),
    request_id: z.string().max(LIMITS.idChars).optional(),
    peers: z.array(Id).optional(),
    failed: z.array(z.looseObject({ peer_id: Id, code: z.string().max(64), message: z.string().max(4096) })).optional(),
  }),
} as const;

export type AgentCommandType = keyof typeof AgentCommands;
export type PeerEventType = keyof typeof PeerEvents;
export type AgentCommand = {
  [K in AgentCommandType]: { type: K; payload: z.infer<(typeof AgentCommands)[K]> };
}[AgentCommandType];
export type PeerEvent = {
  [K in PeerEventType]: { type: K; payload: z.infer<(typeof PeerEvents)[K]> };
}[PeerEventType];

const Line = z.object({ type: z.string().min(1).max(64), payload: z.record(z.string(), z.unknown()).default({}) });

function decodeTyped<M extends Record<string, z.ZodType>>(schemas: M, raw: Decoded<z.infer<typeof Line>>) {
  if (!raw.ok) return raw;
  const { type, payload } = raw.value;
  if (!Object.hasOwn(schemas, type)) {
    return fail('unknown_type', `unknown type "${type}"; expected one of ${Object.keys(schemas).join(', ')}`);
  }
  const p = check(schemas[type]!, payload);
  if (!p.ok) return fail('invalid', `${type}: payload.${p.error.message}`);
  return { ok: true as const, value: { type, payload: p.value } };
}

/** Parses one line an agent sent (socket text) or one object it posted (worker). */
export function decodeAgentCommand(input: string | unknown): Decoded<AgentCommand> {
  const raw = typeof input === 'string' ? decode(Line, input, LIMITS.ipcLineBytes) : check(Line, input);
  return decodeTyped(AgentCommands, raw) as Decoded<AgentCommand>;
}

/** Parses one line the peer sent to its agent (used by the agent SDK). */
export function decodePeerEvent(input: string | unknown): Decoded<PeerEvent> {
  const raw = typeof input === 'string' ? decode(Line, input, LIMITS.ipcLineBytes) : check(Line, input);
  return decodeTyped(PeerEvents, raw) as Decoded<PeerEvent>;
}

export function encodeIpc<T extends { type: string; payload: unknown }>(line: T): string {
  return JSON.stringify(line) + '\n';
}
