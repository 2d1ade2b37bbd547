import { z } from 'zod';
import { Id, JsonObject } from './common.ts';
import { LIMITS } from './limits.ts';
import { decode, fail, check, type Decoded } from './decode.ts';

/**
 * This core's additions to offers, answers and candidates (docs/protocol.md): the connection id
 * (`conn`, the same id again = a renegotiation of that connection) and the sender's capabilities
 * (`caps`). The Rust sidecar sends neither.
 */
const ConnectionId = z.string().min(1).max(64);
const Capabilities = z.array(z.string().max(32)).max(32);

/** Payload of each signaling type (docs/protocol.md). Extra fields pass through for forward compatibility. */
export const SignalPayloads = {
  /** First-message auth, for clients that cannot set Sec-WebSocket-Protocol. */
  auth: z.looseObject({ token: z.string().min(1).max(8192) }),
  register: z.looseObject({}),
  peer_list: z.looseObject({ peers: z.array(Id) }),
  offer: z.looseObject({
    sdp: z.string().min(1).max(LIMITS.signalFrameBytes),
    conn: ConnectionId.optional(),
    caps: Capabilities.optional(),
    /** An ICE restart of connection `conn` (informational: the id already says so). */
    restart: z.boolean().optional(),
  }),
  answer: z.looseObject({
    sdp: z.string().min(1).max(LIMITS.signalFrameBytes),
    conn: ConnectionId.optional(),
    caps: Capabilities.optional(),
  }),
  ice_candidate: z.looseObject({
    candidate: z.string().max(4096),
    sdpMid: z.string().max(64).nullish(),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullish(),
    conn: ConnectionId.optional(),
  }),
  heartbeat: z.looseObject({}),
  peer_joined: z.looseObject({ peer_id: Id }),
  peer_left: z.looseObject({ peer_id: Id }),
  /** The registry revoked this peer: close every DataChannel to it now. */
  peer_revoked: z.looseObject({ peer_id: Id }),
  error: z.looseObject({ code: z.string().max(64), message: z.string().max(1024) }),
} as const;

export type SignalType = keyof typeof SignalPayloads;
export const SIGNAL_TYPES = Object.keys(SignalPayloads) as SignalType[];
/** Types the registry forwards to `target_id` and nowhere else. */
export const RELAYED_SIGNAL_TYPES = ['offer', 'answer', 'ice_candidate'] as const satisfies readonly SignalType[];

const Envelope = z.object({
  type: z.string().min(1).max(64),
  peer_id: z.union([Id, z.literal('')]).default(''),
  target_id: Id.nullish(),
  payload: JsonObject.default({}),
});

export type SignalMessage<T extends SignalType = SignalType> = {
  [K in T]: {
    type: K;
    peer_id: string;
    target_id?: string | null | undefined;
    payload: z.infer<(typeof SignalPayloads)[K]>;
  };
}[T];

/** Parses one signaling frame: envelope, then the payload of its type. */
export function decodeSignal(text: string): Decoded<SignalMessage> {
  const env = decode(Envelope, text, LIMITS.signalFrameBytes);
  if (!env.ok) return env;
  const type = env.value.type;
  if (!Object.hasOwn(SignalPayloads, type)) {
    return fail('unknown_type', `unknown signaling type "${type}"; expected one of ${SIGNAL_TYPES.join(', ')}`);
  }
  const payload = check(SignalPayloads[type as SignalType], env.value.payload);
  if (!payload.ok) return fail('invalid', `payload.${payload.error.message}`);
  return { ok: true, value: { ...env.value, type, payload: payload.value } as SignalMessage };
}

/** Builds a frame; the type system keeps the payload honest. */
export function encodeSignal<T extends SignalType>(type: T, peer_id: string, payload: z.input<(typeof SignalPayloads)[T]>, target_id?: string): string {
  return JSON.stringify(target_id === undefined ? { type, peer_id, payload } : { type, peer_id, target_id, payload });
}
