import type { Db } from './db.ts';
import type { PublicKeyJwk } from '../../mesh/protocol/index.ts';

export interface StoredIdentity {
  peer_id: string;
  key_id: string;
  public_key: PublicKeyJwk;
  certificate: string;
  issued_at: number;
}

/** The current certified key of each peer (the registry's side of "which key is this peer's"). */
export class IdentityStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  async get(peerId: string): Promise<StoredIdentity | undefined> {
    const rows = await this.#db.query<StoredIdentity>('SELECT * FROM identities WHERE peer_id = $1', [peerId]);
    const r = rows[0];
    return r && { ...r, public_key: typeof r.public_key === 'string' ? JSON.parse(r.public_key) : r.public_key };
  }

  async put(i: StoredIdentity): Promise<void> {
    await this.#db.query(
      `INSERT INTO identities (peer_id, key_id, public_key, certificate, issued_at) VALUES ($1, $2, $3::jsonb, $4, $5)
       ON CONFLICT (peer_id) DO UPDATE SET key_id = EXCLUDED.key_id, public_key = EXCLUDED.public_key, certificate = EXCLUDED.certificate, issued_at = EXCLUDED.issued_at`,
      [i.peer_id, i.key_id, JSON.stringify(i.public_key), i.certificate, i.issued_at],
    );
  }
}
