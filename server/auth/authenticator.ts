import { timingSafeEqual } from 'node:crypto';
import type { Role } from '../../mesh/protocol/index.ts';
import type { KeyStore } from '../storage/keys.ts';
import { hashSecret } from './secrets.ts';
import type { StaticKeys } from './keys-file.ts';
import type { Principal, TokenSigner } from './tokens.ts';
import { RevokedError } from '../http/errors.ts';

export const ADMIN_PEER_ID = 'admin';

/** Looks up device tokens; provided by the pairing module. `revoked`: the device was revoked. */
export interface DeviceTokenLookup {
  lookupDeviceToken(token: string): Promise<(Principal & { revoked: boolean }) | undefined>;
}

export const revokedDeviceText = (peerId: string) => `device ${peerId} was revoked by an admin; pair it again to rejoin the mesh`;
export const deletedKeyText = (peerId: string) => `the API key of ${peerId} was deleted by an admin; its tokens no longer work; ask the admin for a new key`;

function sameText(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Every way a caller proves who it is: the admin key, API_KEYS_FILE keys, keys created over
 * the API, device tokens from pairing, and the JWTs issued for any of them. Revoked peer ids
 * are refused everywhere, whatever they present, with a RevokedError (the revocation contract);
 * an unknown or malformed credential is answered with undefined.
 */
export class Authenticator {
  readonly #revoked = new Set<string>();
  /** Peer id → epoch s: tokens issued at or before it were issued for a key that is now deleted. */
  readonly #notBefore = new Map<string, number>();
  devices: DeviceTokenLookup | undefined;

  readonly #adminKey: string;
  readonly #staticKeys: StaticKeys;
  readonly #keys: KeyStore;

  constructor(
    readonly signer: TokenSigner,
    adminKey: string,
    staticKeys: StaticKeys,
    keys: KeyStore,
  ) {
    this.#adminKey = adminKey;
    this.#staticKeys = staticKeys;
    this.#keys = keys;
  }

  setRevoked(peerIds: Iterable<string>): void {
    for (const p of peerIds) this.#revoked.add(p);
  }
  isRevoked(peerId: string): boolean {
    return this.#revoked.has(peerId);
  }
  unrevoke(peerId: string): void {
    this.#revoked.delete(peerId);
  }

  /** A deleted key's outstanding JWTs stop working too (not only new exchanges). */
  invalidateTokens(peerId: string, nowS = Math.floor(Date.now() / 1000)): void {
    this.#notBefore.set(peerId, nowS);
  }

  #refuseRevoked(peerId: string): void {
    if (this.#revoked.has(peerId)) throw new RevokedError(revokedDeviceText(peerId));
  }

  async apiKey(key: string): Promise<Principal | undefined> {
    if (key.length < 8 || key.length > 256) return undefined;
    let found: Principal | undefined;
    if (sameText(key, this.#adminKey)) found = { peerId: ADMIN_PEER_ID, role: 'admin' };
    else {
      const s = this.#staticKeys.get(key);
      if (s) found = { peerId: s.peer_id, role: s.role };
      else {
        const stored = await this.#keys.find(hashSecret(key));
        if (stored?.deleted_at != null) throw new RevokedError(deletedKeyText(stored.peer_id));
        if (stored) found = { peerId: stored.peer_id, role: stored.role as Role };
      }
    }
    if (found) this.#refuseRevoked(found.peerId);
    return found;
  }

  async deviceToken(token: string): Promise<Principal | undefined> {
    if (!this.devices || token.length > 256) return undefined;
    const p = await this.devices.lookupDeviceToken(token);
    if (!p) return undefined;
    if (p.revoked) throw new RevokedError(revokedDeviceText(p.peerId));
    this.#refuseRevoked(p.peerId);
    return { peerId: p.peerId, role: p.role };
  }

  /** A valid JWT's principal, with its expiry (a live session ends then unless renewed). */
  async jwt(token: string): Promise<(Principal & { exp: number }) | undefined> {
    const p = await this.signer.verify(token);
    if (!p) return undefined;
    this.#refuseRevoked(p.peerId);
    const nb = this.#notBefore.get(p.peerId);
    if (nb !== undefined && p.iat <= nb) throw new RevokedError(deletedKeyText(p.peerId));
    return { peerId: p.peerId, role: p.role, exp: p.exp };
  }

  /** Peer ids of the keys from the environment and files (listed by GET /api/keys). */
  staticKeyList(): { peer_id: string; role: Role }[] {
    return [...this.#staticKeys.values()].map((v) => ({ peer_id: v.peer_id, role: v.role }));
  }

  staticPeerIds(): Set<string> {
    return new Set([ADMIN_PEER_ID, ...[...this.#staticKeys.values()].map((v) => v.peer_id)]);
  }
}
