import { z } from 'zod';
import { Id } from './common.ts';
import { decode, type Decoded } from './decode.ts';

/**
 * Identity wire formats (docs/trust.md): the public key of a device, the claims of the device
 * certificate the registry signs, the control frames a DataChannel carries before any MeshMessage,
 * and the skill policy. The logic lives in mesh/identity/.
 */

const B64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');

/** An ECDSA P-256 public key as a JWK (only the members that define the key). */
export const PublicKeyJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: B64url.length(43),
  y: B64url.length(43),
});
export type PublicKeyJwk = z.infer<typeof PublicKeyJwkSchema>;
/** An EC P-256 private key as JWK (`d` is the private scalar). */
export const PrivateKeyJwkSchema = PublicKeyJwkSchema.extend({ d: B64url.length(43) });

/** JWS protected header of a device certificate. `kid` = RFC 7638 thumbprint of the CA key. */
export const CertificateHeaderSchema = z.object({
  alg: z.literal('ES256'),
  typ: z.literal('chatixia-device-cert'),
  kid: B64url.length(43),
});

/** What the registry vouches for: this key belongs to this peer id, with this role, until then. */
export const DeviceCertificateClaimsSchema = z.object({
  v: z.literal(1),
  peer_id: Id,
  role: Id,
  public_key_jwk: PublicKeyJwkSchema,
  /** Thumbprint of `public_key_jwk`: what peers remember (trust on first use). */
  key_id: B64url.length(43),
  /** Milliseconds since the epoch. A later `issued_at` with a new key = the registry re-issued it. */
  issued_at: z.number().int().nonnegative(),
  expires_at: z.number().int().nonnegative(),
});
export type DeviceCertificateClaims = z.infer<typeof DeviceCertificateClaimsSchema>;

/** A compact certificate (`header.claims.signature`, base64url) is bounded before anything else. */
export const MAX_CERTIFICATE_CHARS = 2048;
export const CompactCertificate = z
  .string()
  .min(5)
  .max(MAX_CERTIFICATE_CHARS)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'not a compact certificate');

/** First frame each side sends on a new DataChannel: who I am and a signature over both DTLS fingerprints. */
export const IdentityProofFrameSchema = z.object({
  type: z.literal('identity_proof'),
  v: z.literal(1),
  /** The prover. */
  peer_id: Id,
  /** The peer the prover believes it talks to. */
  target_peer_id: Id,
  certificate: CompactCertificate,
  /** base64url ECDSA P-256 SHA-256 signature (r||s, 64 bytes) over the canonical link proof text. */
  signature: B64url.length(86),
});
export type IdentityProofFrame = z.infer<typeof IdentityProofFrameSchema>;

/** Sent before closing a link whose proof failed, so the other side can report why. */
export const IdentityRefusedFrameSchema = z.object({
  type: z.literal('identity_refused'),
  reason: z.string().max(64),
  message: z.string().max(1024),
});
export type IdentityRefusedFrame = z.infer<typeof IdentityRefusedFrameSchema>;

/** Sent by a side that verified the other's proof (PeerLink opens the link when both sides accepted). */
export const IdentityAcceptedFrameSchema = z.object({ type: z.literal('identity_accepted') });

export const IdentityFrameSchema = z.discriminatedUnion('type', [IdentityProofFrameSchema, IdentityRefusedFrameSchema, IdentityAcceptedFrameSchema]);
export type IdentityFrame = z.infer<typeof IdentityFrameSchema>;
export const IDENTITY_FRAME_TYPES = ['identity_proof', 'identity_refused', 'identity_accepted'] as const;
export const MAX_IDENTITY_FRAME_CHARS = 4096;

/** Parses an identity control frame received on a DataChannel (untrusted). */
export function decodeIdentityFrame(text: string): Decoded<IdentityFrame> {
  return decode(IdentityFrameSchema, text, MAX_IDENTITY_FRAME_CHARS);
}

/**
 * Who may call which skill. Rules are tried in order; the first whose `skill` matches decides:
 * the caller is allowed if its peer id is in `peers` or its role is in `roles`. No matching rule:
 * `default` decides. `skill` is an exact name, a prefix ending in `*` (`fs.*`), or `*`.
 * `providers` (optional): the only peers whose agents may offer the skill — the registry drops it
 * from anyone else's advertisements, so they are never routed to nor handed its tasks. The first
 * matching rule that has `providers` decides; none: any peer may offer it. A rule with `providers`
 * and neither `peers` nor `roles` only says who may offer; it does not restrict callers.
 */
export const SkillRuleSchema = z.object({
  skill: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\w.:@-]*\*?$/, 'a skill name, a prefix ending in *, or *'),
  peers: z.array(Id).max(1000).default([]),
  roles: z.array(Id).max(100).default([]),
  providers: z.array(Id).max(1000).optional(),
});
export const SkillPolicySchema = z.object({
  default: z.enum(['allow', 'deny']).default('allow'),
  rules: z.array(SkillRuleSchema).max(1000).default([]),
});
export type SkillPolicy = z.infer<typeof SkillPolicySchema>;
export type SkillPolicyInput = z.input<typeof SkillPolicySchema>;
