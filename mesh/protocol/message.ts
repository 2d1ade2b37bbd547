import { z } from 'zod';
import { JsonObject, RequestId } from './common.ts';
import { LIMITS } from './limits.ts';
import { check, decode, type Decoded } from './decode.ts';

/**
 * The application message carried over DataChannels (docs/protocol.md, Frames on the DataChannel). Only `type` is required.
 * Agent names are free-form here (the Python agents use display names), but bounded.
 */
export const MeshMessageSchema = z.looseObject({
  type: z.string().min(1).max(64),
  request_id: RequestId.optional(),
  source_agent: z.string().max(LIMITS.idChars).optional(),
  target_agent: z.string().max(LIMITS.idChars).optional(),
  payload: z.unknown().optional(),
});
export type MeshMessage = z.infer<typeof MeshMessageSchema>;

/** Payloads of the known types. Unknown types are passed to the agent unchecked. */
export const MeshPayloads = {
  ping: JsonObject,
  pong: JsonObject,
  task_request: z.looseObject({
    skill: z.string().min(1).max(LIMITS.idChars),
    args: z.unknown().optional(),
    timeout_ms: z
      .number()
      .int()
      .positive()
      .max(24 * 3600_000)
      .optional(),
  }),
  task_response: z.looseObject({
    result: z.unknown().optional(),
    error: z
      .string()
      .max(64 * 1024)
      .optional(),
  }),
  task_stream_chunk: z.looseObject({ text: z.string(), done: z.boolean() }),
  skill_query: z.looseObject({ skill: z.string().max(LIMITS.idChars).optional() }),
  skill_response: z.looseObject({
    available: z.boolean().optional(),
    description: z.string().optional(),
    skills: z.array(z.unknown()).optional(),
  }),
  agent_status: z.looseObject({ status: z.string().max(64) }),
  agent_prompt: z.looseObject({ text: z.string(), session_id: z.string().max(LIMITS.idChars).optional() }),
  agent_response: z.looseObject({
    text: z.string(),
    error: z
      .string()
      .max(64 * 1024)
      .optional(),
  }),
  /** `tool`: an extension — a step of the answer (an LLM agent's tool call); `text` is then "". */
  agent_stream_chunk: z.looseObject({ text: z.string(), done: z.boolean(), tool: z.lazy(() => ToolEvent).optional() }),
  /**
   * Extension: the requester gives up on its request `request_id` (sent to the peer it asked, naming
   * the same `target_agent`). The agent running it stops — an LLM agent stops generating at the
   * provider — and may still answer with an error. Only the peer that sent the request can cancel it.
   */
  cancel: z.looseObject({ reason: z.string().max(1024).optional() }),
} as const;

/** One tool call of an LLM agent, as its requester sees it (one event when it starts, one when it ends). */
export const ToolEvent = z.looseObject({
  call_id: z.string().max(LIMITS.idChars),
  skill: z.string().max(LIMITS.idChars),
  state: z.enum(['running', 'done', 'failed']),
  /** The record that ran it (`name@peer`), the peer, and the tier that carried it (mesh/delegate.ts). */
  agent_id: z.string().max(LIMITS.idChars).optional(),
  peer_id: z.string().max(LIMITS.idChars).optional(),
  tier: z.enum(['direct', 'relay', 'task_queue', 'local']).optional(),
  ms: z.number().min(0).max(1e9).optional(),
  /** Short renderings for the chat (the model gets the full result). */
  args: z.string().max(4096).optional(),
  result: z.string().max(4096).optional(),
  error: z.string().max(4096).optional(),
});
export type ToolEvent = z.infer<typeof ToolEvent>;
export type KnownMeshType = keyof typeof MeshPayloads;
export type MeshPayload<T extends KnownMeshType> = z.infer<(typeof MeshPayloads)[T]>;

export function isKnownMeshType(type: string): type is KnownMeshType {
  return Object.hasOwn(MeshPayloads, type);
}

/** Reads `msg`'s payload as the known type `type`: undefined when `msg` is another type or its payload does not fit. */
export function payloadOf<T extends KnownMeshType>(msg: MeshMessage, type: T): MeshPayload<T> | undefined {
  if (msg.type !== type) return undefined;
  const r = check(MeshPayloads[type], msg.payload ?? {});
  return r.ok ? (r.value as MeshPayload<T>) : undefined;
}

/** A `*_stream_chunk` that more chunks follow (no `done: true`): it does not end the request it answers. Per message: no schema. */
export function isOpenStreamChunk(msg: MeshMessage): boolean {
  if (!msg.type.endsWith('_stream_chunk')) return false;
  const p = msg.payload;
  return !(p instanceof Object && 'done' in p && p.done === true);
}

/** An `error` message's payload, as peers send it; both fields may be missing or odd from another implementation. */
const MeshErrorPayload = z.looseObject({ code: z.unknown().optional(), message: z.unknown().optional() });
/** The code and text of an `error` message, with defaults for a peer that sent less. */
export function meshErrorOf(msg: MeshMessage): { code: string; message: string } {
  const r = MeshErrorPayload.safeParse(msg.payload ?? {});
  const p = r.success ? r.data : {};
  return { code: String(p.code ?? 'error'), message: String(p.message ?? 'error') };
}

/** Parses a reassembled DataChannel message. */
export function decodeMeshMessage(text: string, maxChars: number = LIMITS.meshMessageBytes): Decoded<MeshMessage> {
  return decode(MeshMessageSchema, text, maxChars);
}

/** Checks the payload of a known type; unknown types pass. */
export function checkMeshPayload(msg: MeshMessage): Decoded<unknown> {
  if (!isKnownMeshType(msg.type)) return { ok: true, value: msg.payload };
  return check(MeshPayloads[msg.type], msg.payload ?? {});
}
