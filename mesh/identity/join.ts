import type { RegistryClient } from '../registry-client.ts';
import { readCertificateUnverified, verifyOwnCertificate } from './certificate.ts';
import { loadOrCreateIdentity, type CertificateStore, type DeviceIdentity, type IdentityKeyStore } from './keys.ts';
import { KnownPeers, type TrustRecords } from './known-peers.ts';
import { LinkAuthenticator, type DescribedConnection } from './link-auth.ts';
import type { AclDecision } from './acl.ts';
import { checkRequest } from '../policy-guard.ts';
import type { MeshMessage, SkillPolicy } from '../protocol/index.ts';

/** A certificate with less than this left is renewed (at start, and by `renewIfDue` while running). */
export const RENEW_BEFORE_MS = 30 * 86400_000;
/** How often a running peer asks whether its certificate is due. */
export const RENEW_CHECK_MS = 86400_000;

/**
 * The mesh core's `linkAuth` hook with the local link policy (docs/pairing.md, "Which links must
 * prove"): once this device holds a certificate, every link must prove its identity, except to
 * the peer ids the operator listed as legacy (Rust sidecars, which cannot prove). The requirement
 * is never negotiated over signaling: a relay could strip it.
 */
export class PolicyLinkAuth {
  readonly #legacy: ReadonlySet<string>;
  readonly #verified = new Map<string, { peer_id: string; role: string }>();
  constructor(
    readonly authenticator: LinkAuthenticator,
    legacyPeers: Iterable<string> = [],
  ) {
    this.#legacy = new Set(legacyPeers);
  }
  /** False = this link opens without a proof (legacy peer, marked unverified). */
  required(remotePeerId: string): boolean {
    return !this.#legacy.has(remotePeerId);
  }
  proofFrame(remotePeerId: string, pc: DescribedConnection): Promise<string> {
    return this.authenticator.proofFrame(remotePeerId, pc);
  }
  async check(remotePeerId: string, pc: DescribedConnection, text: string) {
    const res = await this.authenticator.check(remotePeerId, pc, text);
    if (res.ok) {
      this.#verified.set(remotePeerId, { peer_id: res.claims.peer_id, role: res.claims.role });
      watchRebinding(pc, remotePeerId);
    } else this.#verified.delete(remotePeerId);
    return res;
  }
  /** Who is at the other end of our link to `peerId`, as its certificate proved (role `legacy` for listed legacy peers). */
  callerOf(peerId: string): { peer_id: string; role: string } | undefined {
    if (this.#legacy.has(peerId)) return { peer_id: peerId, role: 'legacy' };
    return this.#verified.get(peerId);
  }
  refusal(check: { reason: string; message: string }): string {
    return LinkAuthenticator.refusal(check);
  }
}

export interface JoinedIdentity {
  identity: DeviceIdentity;
  /** The certificate links prove with now (renewIfDue may replace it). */
  readonly certificate: string;
  knownPeers: KnownPeers;
  linkAuth: PolicyLinkAuth;
  /** The certificate was (re)issued now rather than loaded. */
  issued: boolean;
  /**
   * Asks the registry for a fresh certificate when this one has less than 30 days left; answers
   * the new one (stored, and used by every proof from now on) or undefined when none was due.
   */
  renewIfDue(): Promise<string | undefined>;
}

/** The registry CA differs from the one this device pinned (registry reinstalled, or an impostor). */
export class CaChangedError extends Error {
  readonly code = 'ca_changed';
}

/**
 * Everything a peer needs to prove itself on links, for a client already signed in: loads or
 * creates the device key, pins the registry CA (TOFU; a different CA throws CaChangedError),
 * keeps the stored certificate if it is valid for this key, this peer id and this CA for another
 * 30 days, or else asks the registry for one (POST /api/identity/certificate) and stores it.
 */
export async function joinWithIdentity(o: {
  registry: RegistryClient;
  peerId: string;
  keyStore: IdentityKeyStore & CertificateStore;
  records: TrustRecords;
  legacyPeers?: Iterable<string>;
  now?: () => number;
}): Promise<JoinedIdentity> {
  const now = o.now ?? Date.now;
  const identity = await loadOrCreateIdentity(o.keyStore);
  const knownPeers = new KnownPeers(o.records);
  const ca = await o.registry.registryCa();
  const pin = await knownPeers.pinCa(ca.public_key_jwk);
  if (!pin.ok) throw new CaChangedError(pin.message);
  const usable = async (cert: string | undefined) => {
    if (!cert) return false;
    const res = await verifyOwnCertificate(ca.public_key_jwk, cert, { keyId: identity.keyId, peerId: o.peerId }, now());
    return res.ok && res.claims.expires_at - now() > RENEW_BEFORE_MS;
  };
  const fresh = async () => {
    const res = await o.registry.requestCertificate(identity.publicJwk);
    const own = await verifyOwnCertificate(ca.public_key_jwk, res.certificate, { keyId: identity.keyId, peerId: o.peerId }, now());
    if (!own.ok) throw new Error(`the registry issued a certificate this device cannot use: ${own.message}`);
    await o.keyStore.saveCertificate(res.certificate);
    return res.certificate;
  };
  const loaded = await o.keyStore.loadCertificate();
  const issued = !(await usable(loaded));
  let current = issued ? await fresh() : loaded!;
  const authenticator = new LinkAuthenticator({ localPeerId: o.peerId, identity, certificate: () => current, knownPeers });
  return {
    identity,
    get certificate() {
      return current;
    },
    knownPeers,
    linkAuth: new PolicyLinkAuth(authenticator, o.legacyPeers),
    issued,
    async renewIfDue() {
      if (await usable(current)) return undefined;
      return (current = await fresh());
    },
  };
}

/** "key 1a2b3c4d… valid until 2027-02-20" for logs and the UI. */
export function describeCertificate(cert: string): string {
  const c = readCertificateUnverified(cert);
  if (!c) return 'unreadable certificate';
  return `peer ${c.peer_id}, key ${c.key_id.slice(0, 12)}…, valid until ${new Date(c.expires_at).toISOString().slice(0, 10)}`;
}

/**
 * The receiving peer's skill ACL for requests over a DataChannel (AgentHub's `authorize`): the
 * caller's peer id and role come from the certificate its link proved, never from the message;
 * the check is `checkRequest` (mesh/policy-guard.ts), the same as for queued tasks.
 */
export function skillGuard(auth: PolicyLinkAuth, policy: () => SkillPolicy | undefined) {
  return (fromPeer: string, msg: MeshMessage): AclDecision => {
    const caller = auth.callerOf(fromPeer);
    const d = checkRequest(policy(), caller && { peer_id: caller.peer_id, role: caller.role }, msg);
    return !d.allowed && !caller ? { allowed: false, reason: `peer ${fromPeer} has not proven its identity on this link` } : d;
  };
}

/**
 * An ICE restart renegotiates on the same connection and needs no new proof — unless the new
 * descriptions carry other DTLS fingerprints (a tampered restart offer): then the proof no longer
 * covers the link, so the connection is closed and the link's normal recovery dials a fresh one,
 * which proves again. Works on anything with `signalingstatechange` (browsers, the Node polyfill).
 */
export function watchRebinding(pc: DescribedConnection, remotePeerId: string, onRebound?: (remotePeerId: string) => void): void {
  const t = pc as DescribedConnection & Partial<EventTarget> & { signalingState?: string; close?: () => void };
  if (typeof t.addEventListener !== 'function') return;
  const bound = LinkAuthenticator.fingerprintsOf(pc);
  const onChange = () => {
    if (t.signalingState === 'closed') return t.removeEventListener!('signalingstatechange', onChange);
    if (t.signalingState !== 'stable' || LinkAuthenticator.fingerprintsOf(pc) === bound) return;
    t.removeEventListener!('signalingstatechange', onChange);
    onRebound?.(remotePeerId);
    t.close?.();
  };
  t.addEventListener('signalingstatechange', onChange);
}
