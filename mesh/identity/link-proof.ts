import {
  decodeIdentityFrame,
  IdentityProofFrameSchema,
  type DeviceCertificateClaims,
  type IdentityProofFrame,
  type PublicKeyJwk,
} from '../protocol/identity.ts';
import { check } from '../protocol/decode.ts';
import { verifyDeviceCertificate, type CertificateFailureReason } from './certificate.ts';
import { importPublicJwk, signText, verifyText, type DeviceIdentity } from './keys.ts';

/**
 * Channel binding. DTLS already checks that the remote end holds the certificate whose fingerprint
 * is in the remote description; a relay that rewrites offers/answers can put its own fingerprints
 * there and sit in the middle of both DTLS sessions. So each side signs, with its identity key,
 * the fingerprints as IT sees them (its local = its own, its remote = the other's). Behind such a
 * relay the two sides see different fingerprints and the signatures fail.
 */

/** The `a=fingerprint` lines of an SDP, normalised (`sha-256 AB:CD:…`), unique and sorted. */
export function extractFingerprints(sdp: string): string[] {
  const found = new Set<string>();
  for (const m of sdp.matchAll(/^a=fingerprint:([A-Za-z0-9-]+)[ \t]+([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)[ \t]*\r?$/gm)) {
    found.add(`${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`);
  }
  return [...found].sort();
}

/** The exact text a prover signs. Peer ids cannot contain newlines or commas (protocol `Id`). */
export function linkProofText(p: { prover: string; verifier: string; proverFingerprints: string[]; verifierFingerprints: string[] }): string {
  return [
    'chatixia-link-proof/v1',
    `prover=${p.prover}`,
    `verifier=${p.verifier}`,
    `prover_fingerprints=${p.proverFingerprints.join(',')}`,
    `verifier_fingerprints=${p.verifierFingerprints.join(',')}`,
  ].join('\n');
}

export interface LinkEnds {
  localPeerId: string;
  remotePeerId: string;
  /** `pc.localDescription.sdp` and `pc.remoteDescription.sdp` of this side's connection. */
  localSdp: string;
  remoteSdp: string;
}

/** Builds this side's `identity_proof` frame. Throws if an SDP has no fingerprint (nothing to bind). */
export async function createLinkProof(identity: DeviceIdentity, certificate: string, ends: LinkEnds): Promise<IdentityProofFrame> {
  const proverFingerprints = extractFingerprints(ends.localSdp);
  const verifierFingerprints = extractFingerprints(ends.remoteSdp);
  if (!proverFingerprints.length || !verifierFingerprints.length) throw new Error('cannot create a link proof: an SDP has no a=fingerprint line');
  const text = linkProofText({ prover: ends.localPeerId, verifier: ends.remotePeerId, proverFingerprints, verifierFingerprints });
  return {
    type: 'identity_proof',
    v: 1,
    peer_id: ends.localPeerId,
    target_peer_id: ends.remotePeerId,
    certificate,
    signature: await signText(identity.privateKey, text),
  };
}

export type LinkProofFailureReason = 'malformed' | CertificateFailureReason | 'peer_mismatch' | 'target_mismatch' | 'no_fingerprint' | 'bad_signature';
export type LinkProofCheck = { ok: true; claims: DeviceCertificateClaims } | { ok: false; reason: LinkProofFailureReason; message: string };

export interface VerifyLinkProofOptions extends LinkEnds {
  /** The pinned registry CA public key. */
  caPublicJwk: PublicKeyJwk;
  now?: number;
}

/**
 * Checks the other side's proof (a raw DataChannel text frame or a parsed object): certificate
 * from the pinned CA, for the peer we believe we talk to, not expired; addressed to us; signed
 * over the fingerprints as WE see them. Never throws on untrusted input.
 */
export async function verifyLinkProof(proof: unknown, opts: VerifyLinkProofOptions): Promise<LinkProofCheck> {
  const parsed = typeof proof === 'string' ? decodeIdentityFrame(proof) : check(IdentityProofFrameSchema, proof);
  if (!parsed.ok || parsed.value.type !== 'identity_proof') {
    return fail('malformed', `not a valid identity_proof frame${parsed.ok ? '' : `: ${parsed.error.message}`}`);
  }
  const frame = parsed.value;
  if (frame.target_peer_id !== opts.localPeerId) {
    return fail('target_mismatch', `proof is addressed to ${frame.target_peer_id}, but this peer is ${opts.localPeerId}`);
  }
  if (frame.peer_id !== opts.remotePeerId) {
    return fail('peer_mismatch', `proof is from ${frame.peer_id}, but this link is to ${opts.remotePeerId}`);
  }
  const cert = await verifyDeviceCertificate(opts.caPublicJwk, frame.certificate, opts.now);
  if (!cert.ok) return cert;
  if (cert.claims.peer_id !== opts.remotePeerId) {
    return fail('peer_mismatch', `certificate belongs to ${cert.claims.peer_id}, but this link is to ${opts.remotePeerId}`);
  }
  const proverFingerprints = extractFingerprints(opts.remoteSdp);
  const verifierFingerprints = extractFingerprints(opts.localSdp);
  if (!proverFingerprints.length || !verifierFingerprints.length) return fail('no_fingerprint', 'an SDP of this link has no a=fingerprint line');
  const text = linkProofText({ prover: frame.peer_id, verifier: opts.localPeerId, proverFingerprints, verifierFingerprints });
  const deviceKey = await importPublicJwk(cert.claims.public_key_jwk).catch(() => undefined);
  if (!deviceKey) return fail('cert_malformed', 'certificate carries a public key that is not a valid P-256 point');
  if (!(await verifyText(deviceKey, frame.signature, text))) {
    return fail('bad_signature', 'link proof signature does not match the DTLS fingerprints of this link (tampered signaling or forged proof)');
  }
  return { ok: true, claims: cert.claims };
}

function fail(reason: LinkProofFailureReason, message: string): LinkProofCheck {
  return { ok: false, reason, message };
}
