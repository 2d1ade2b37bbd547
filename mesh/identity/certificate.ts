import {
  CertificateHeaderSchema,
  CompactCertificate,
  DeviceCertificateClaimsSchema,
  PublicKeyJwkSchema,
  type DeviceCertificateClaims,
  type PublicKeyJwk,
} from '../protocol/identity.ts';
import { Id } from '../protocol/common.ts';
import { fromBase64url, fromUtf8, jsonToBase64url } from './encoding.ts';
import { exportPrivateJwk, generateKeyPair, importPrivateJwk, importPublicJwk, jwkThumbprint, signText, verifyText } from './keys.ts';

/**
 * Device certificates: a compact JWS (ES256) `base64url(header).base64url(claims).base64url(sig)`
 * signed by the registry's CA key. Any JOSE library can read it; we verify with WebCrypto only.
 */

/** The registry's signing key. `kid` is the thumbprint of its public key, which peers pin. */
export interface RegistryCa {
  privateKey: CryptoKey;
  publicJwk: PublicKeyJwk;
  kid: string;
}

/** Creates a CA key; the registry stores `privateJwk` (secret!) and reloads it with `loadRegistryCa`. */
export async function createRegistryCa(): Promise<{ ca: RegistryCa; privateJwk: JsonWebKey }> {
  const pair = await generateKeyPair(true);
  const privateJwk = await exportPrivateJwk(pair.privateKey);
  return { ca: await loadRegistryCa(privateJwk), privateJwk };
}

export async function loadRegistryCa(privateJwk: JsonWebKey): Promise<RegistryCa> {
  let publicJwk: PublicKeyJwk;
  let privateKey: CryptoKey;
  try {
    publicJwk = PublicKeyJwkSchema.parse({ kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y });
    privateKey = await importPrivateJwk(privateJwk);
  } catch (err) {
    throw new Error(`registry CA key is invalid: ${(err as Error).message}`);
  }
  // A stored key whose public half does not match its private half would issue unverifiable certs.
  const probe = await signText(privateKey, 'ca-self-check');
  if (!(await verifyText(await importPublicJwk(publicJwk), probe, 'ca-self-check'))) {
    throw new Error('registry CA key is invalid: its x/y do not match d');
  }
  return { privateKey, publicJwk, kid: await jwkThumbprint(publicJwk) };
}

export interface CertificateRequest {
  peer_id: string;
  public_key_jwk: PublicKeyJwk;
  role: string;
  /** Milliseconds since the epoch. */
  expires_at: number;
  /** Defaults to now; a re-issue must be later than the certificate it replaces. */
  issued_at?: number;
}

export async function issueDeviceCertificate(ca: RegistryCa, req: CertificateRequest): Promise<string> {
  const public_key_jwk = PublicKeyJwkSchema.parse(req.public_key_jwk);
  // Refuse a point that is not on the curve: every peer would fail to import it later.
  await importPublicJwk(public_key_jwk).catch(() => {
    throw new Error('public_key_jwk is not a valid P-256 public key');
  });
  const claims: DeviceCertificateClaims = DeviceCertificateClaimsSchema.parse({
    v: 1,
    peer_id: Id.parse(req.peer_id),
    role: Id.parse(req.role),
    public_key_jwk,
    key_id: await jwkThumbprint(public_key_jwk),
    issued_at: req.issued_at ?? Date.now(),
    expires_at: req.expires_at,
  });
  if (claims.expires_at <= claims.issued_at) throw new Error('expires_at must be after issued_at');
  const signingInput = `${jsonToBase64url({ alg: 'ES256', typ: 'chatixia-device-cert', kid: ca.kid })}.${jsonToBase64url(claims)}`;
  return `${signingInput}.${await signText(ca.privateKey, signingInput)}`;
}

export type CertificateFailureReason = 'cert_malformed' | 'cert_wrong_ca' | 'cert_bad_signature' | 'cert_expired';
export type CertificateCheck = { ok: true; claims: DeviceCertificateClaims } | { ok: false; reason: CertificateFailureReason; message: string };

/** Checks format, issuer, CA signature and expiry. Never throws on untrusted input. */
export async function verifyDeviceCertificate(caPublicJwk: PublicKeyJwk, cert: string, now: number = Date.now()): Promise<CertificateCheck> {
  const parsed = parseCertificate(cert);
  if (!parsed) return { ok: false, reason: 'cert_malformed', message: 'certificate is not a well-formed device certificate' };
  const { header, claims, signingInput, signature } = parsed;
  const caKid = await jwkThumbprint(caPublicJwk);
  if (header.kid !== caKid) {
    return { ok: false, reason: 'cert_wrong_ca', message: `certificate was issued by CA ${header.kid}, not by the pinned registry CA ${caKid}` };
  }
  if (!(await verifyText(await importPublicJwk(caPublicJwk), signature, signingInput))) {
    return { ok: false, reason: 'cert_bad_signature', message: 'certificate signature does not verify with the registry CA key' };
  }
  if (claims.key_id !== (await jwkThumbprint(claims.public_key_jwk))) {
    return { ok: false, reason: 'cert_malformed', message: 'certificate key_id does not match its public key' };
  }
  if (now >= claims.expires_at) {
    return { ok: false, reason: 'cert_expired', message: `certificate of ${claims.peer_id} expired at ${new Date(claims.expires_at).toISOString()}` };
  }
  return { ok: true, claims };
}

/**
 * A device checks the certificate the registry handed it before storing it: issued by the CA it
 * pinned, for its own key and the peer id it was given, not expired.
 */
export async function verifyOwnCertificate(
  caPublicJwk: PublicKeyJwk,
  cert: string,
  own: { keyId: string; peerId: string },
  now: number = Date.now(),
): Promise<CertificateCheck> {
  const res = await verifyDeviceCertificate(caPublicJwk, cert, now);
  if (!res.ok) return res;
  if (res.claims.key_id !== own.keyId || res.claims.peer_id !== own.peerId) {
    return {
      ok: false,
      reason: 'cert_malformed',
      message: `certificate is for ${res.claims.peer_id} with key ${res.claims.key_id}, not for ${own.peerId} with this device's key ${own.keyId}`,
    };
  }
  return res;
}

/** Reads the claims WITHOUT checking anything (display only: "whose certificate is this"). */
export function readCertificateUnverified(cert: string): DeviceCertificateClaims | undefined {
  return parseCertificate(cert)?.claims;
}

function parseCertificate(cert: string) {
  if (!CompactCertificate.safeParse(cert).success) return undefined;
  const [h = '', c = '', signature = ''] = cert.split('.');
  try {
    const header = CertificateHeaderSchema.safeParse(JSON.parse(fromUtf8(fromBase64url(h))));
    const claims = DeviceCertificateClaimsSchema.safeParse(JSON.parse(fromUtf8(fromBase64url(c))));
    if (!header.success || !claims.success) return undefined;
    return { header: header.data, claims: claims.data, signingInput: `${h}.${c}`, signature };
  } catch {
    return undefined;
  }
}
