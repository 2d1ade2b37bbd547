import { PublicKeyJwkSchema, type DeviceCertificateClaims, type PublicKeyJwk } from '../protocol/identity.ts';
import { jwkThumbprint } from './keys.ts';
import { verifyLinkProof, type LinkEnds, type LinkProofFailureReason } from './link-proof.ts';

/**
 * Trust on first use. A peer remembers the registry CA it first saw and, per peer id, the key it
 * first saw. A different key for a known peer id is accepted only with a certificate from the
 * pinned CA whose `issued_at` is later than that of the certificate remembered for the old key
 * (the registry re-issued it); an older certificate for another key (a stolen or superseded key
 * replayed) is refused.
 */

export interface KnownPeerRecord {
  peer_id: string;
  /** Thumbprint of the key last accepted for this peer id. */
  key_id: string;
  /** Latest `issued_at` seen for that key. */
  issued_at: number;
  first_seen: number;
}

/** Persistence behind `KnownPeers`: memory, IndexedDB (tab) or a 0600 file (sidecar). */
export interface TrustRecords {
  getPeer(peerId: string): Promise<KnownPeerRecord | undefined>;
  putPeer(record: KnownPeerRecord): Promise<void>;
  deletePeer(peerId: string): Promise<void>;
  getPinnedCa(): Promise<PublicKeyJwk | undefined>;
  setPinnedCa(jwk: PublicKeyJwk | undefined): Promise<void>;
}

export class MemoryTrustRecords implements TrustRecords {
  #peers = new Map<string, KnownPeerRecord>();
  #ca: PublicKeyJwk | undefined;
  async getPeer(peerId: string) {
    return this.#peers.get(peerId);
  }
  async putPeer(record: KnownPeerRecord) {
    this.#peers.set(record.peer_id, { ...record });
  }
  async deletePeer(peerId: string) {
    this.#peers.delete(peerId);
  }
  async getPinnedCa() {
    return this.#ca;
  }
  async setPinnedCa(jwk: PublicKeyJwk | undefined) {
    this.#ca = jwk;
  }
}

export type TrustFailureReason = 'ca_changed' | 'no_pinned_ca' | 'key_changed';
export type PeerCheck =
  | { ok: true; claims: DeviceCertificateClaims; firstUse: boolean; keyChanged: boolean }
  | { ok: false; reason: LinkProofFailureReason | TrustFailureReason; message: string };

export class KnownPeers {
  readonly #records: TrustRecords;
  constructor(records: TrustRecords) {
    this.#records = records;
  }

  /** Pins the registry CA on first use (e.g. from /api/config); refuses a different one later. */
  async pinCa(jwk: PublicKeyJwk): Promise<{ ok: true; firstUse: boolean } | { ok: false; reason: 'ca_changed'; message: string }> {
    const offered = PublicKeyJwkSchema.parse(jwk);
    const pinned = await this.#records.getPinnedCa();
    if (!pinned) {
      await this.#records.setPinnedCa(offered);
      return { ok: true, firstUse: true };
    }
    const [a, b] = await Promise.all([jwkThumbprint(pinned), jwkThumbprint(offered)]);
    if (a === b) return { ok: true, firstUse: false };
    return {
      ok: false,
      reason: 'ca_changed',
      message: `the registry presents CA ${b} but this device pinned CA ${a}; if the registry was reset on purpose, forget the pinned CA and pair again`,
    };
  }

  pinnedCa(): Promise<PublicKeyJwk | undefined> {
    return this.#records.getPinnedCa();
  }

  /** Deliberate reset by the user (registry re-installed): forgets the CA and every remembered key. */
  async forgetCa(): Promise<void> {
    await this.#records.setPinnedCa(undefined);
  }

  forgetPeer(peerId: string): Promise<void> {
    return this.#records.deletePeer(peerId);
  }

  /** Applies the TOFU rule to claims already verified against the pinned CA, and remembers them. */
  async accept(claims: DeviceCertificateClaims, now: number = Date.now()): Promise<PeerCheck> {
    const known = await this.#records.getPeer(claims.peer_id);
    if (!known) {
      await this.#records.putPeer({ peer_id: claims.peer_id, key_id: claims.key_id, issued_at: claims.issued_at, first_seen: now });
      return { ok: true, claims, firstUse: true, keyChanged: false };
    }
    if (known.key_id === claims.key_id) {
      if (claims.issued_at > known.issued_at) await this.#records.putPeer({ ...known, issued_at: claims.issued_at });
      return { ok: true, claims, firstUse: false, keyChanged: false };
    }
    if (claims.issued_at > known.issued_at) {
      await this.#records.putPeer({ ...known, key_id: claims.key_id, issued_at: claims.issued_at });
      return { ok: true, claims, firstUse: false, keyChanged: true };
    }
    return {
      ok: false,
      reason: 'key_changed',
      message: `${claims.peer_id} presented key ${claims.key_id}, but key ${known.key_id} is remembered; a new key needs a certificate issued after ${new Date(known.issued_at).toISOString()}`,
    };
  }

  /** One call for a new link: verify the other side's proof with the pinned CA, then apply TOFU. */
  async verifyPeer(proof: unknown, ends: LinkEnds, now: number = Date.now()): Promise<PeerCheck> {
    const caPublicJwk = await this.#records.getPinnedCa();
    if (!caPublicJwk) return { ok: false, reason: 'no_pinned_ca', message: 'no registry CA is pinned yet: fetch /api/config and call pinCa first' };
    const checked = await verifyLinkProof(proof, { ...ends, caPublicJwk, now });
    if (!checked.ok) return checked;
    return this.accept(checked.claims, now);
  }
}
