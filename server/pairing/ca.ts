import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistryCa, issueDeviceCertificate, loadRegistryCa, type RegistryCa } from '../../mesh/identity/certificate.ts';
import type { PublicKeyJwk, RegistryCaInfo } from '../../mesh/protocol/index.ts';
import type { Db } from '../storage/db.ts';
import { sharedSecret } from '../storage/shared-secret.ts';

/** Device certificates are valid this long; peers renew theirs (POST /api/identity/certificate) when fewer than 30 days remain. */
export const CERT_LIFETIME_MS = 90 * 24 * 3600 * 1000;

/**
 * The registry CA (mesh/identity): an ECDSA P-256 key in `$MESH_DATA_DIR/ca.jwk` (0600),
 * created on first start; with PostgreSQL it lives in the database so every instance shares it.
 */
export class CertificateAuthority {
  readonly #ca: RegistryCa;
  // TypeScript `private`: ECMAScript has no private constructors; callers go through open().
  private constructor(ca: RegistryCa) {
    this.#ca = ca;
  }

  static async open(dataDir: string, db?: Db): Promise<CertificateAuthority> {
    if (db?.kind === 'postgres') {
      // Shared by every instance on this database.
      const fresh = await createRegistryCa();
      const jwk = await sharedSecret(db, 'registry_ca_jwk', () => JSON.stringify(fresh.privateJwk));
      return new CertificateAuthority(await loadRegistryCa(JSON.parse(jwk) as JsonWebKey));
    }
    const path = join(dataDir, 'ca.jwk');
    if (existsSync(path)) {
      chmodSync(path, 0o600); // the CA private key, like admin.key: owner-only whatever it was
      return new CertificateAuthority(await loadRegistryCa(JSON.parse(readFileSync(path, 'utf8')) as JsonWebKey));
    }
    const { ca, privateJwk } = await createRegistryCa();
    writeFileSync(path, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
    return new CertificateAuthority(ca);
  }

  info(): RegistryCaInfo {
    return { kid: this.#ca.kid, public_key_jwk: this.#ca.publicJwk };
  }

  issue(peerId: string, role: string, publicKey: PublicKeyJwk, nowMs = Date.now()): Promise<string> {
    return issueDeviceCertificate(this.#ca, { peer_id: peerId, role, public_key_jwk: publicKey, issued_at: nowMs, expires_at: nowMs + CERT_LIFETIME_MS });
  }
}
