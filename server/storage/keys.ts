import type { Db } from './db.ts';
import type { Role } from '../../mesh/protocol/index.ts';

export interface StoredKey {
  peer_id: string;
  role: Role;
  created_at: number;
  /** Set when an admin deleted the key (the row stays as a tombstone). */
  deleted_at?: number | null;
}

/** API keys created through POST /api/keys; only their SHA-256 hash is stored. */
export class KeyStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  async add(keyHash: string, peerId: string, role: Role, now: number): Promise<void> {
    await this.#db.query('INSERT INTO api_keys (key_hash, peer_id, role, created_at) VALUES ($1, $2, $3, $4)', [keyHash, peerId, role, now]);
  }

  async find(keyHash: string): Promise<StoredKey | undefined> {
    const rows = await this.#db.query<StoredKey>('SELECT peer_id, role, created_at, deleted_at FROM api_keys WHERE key_hash = $1', [keyHash]);
    return rows[0];
  }

  async list(): Promise<StoredKey[]> {
    return this.#db.query<StoredKey>('SELECT peer_id, role, created_at FROM api_keys WHERE deleted_at IS NULL ORDER BY created_at, peer_id');
  }

  async hasPeer(peerId: string): Promise<boolean> {
    return (await this.#db.query('SELECT 1 FROM api_keys WHERE peer_id = $1 AND deleted_at IS NULL LIMIT 1', [peerId])).length > 0;
  }

  /**
   * Deletes every live key of a peer (they stay as tombstones) and, in the same statement, cuts
   * off the JWTs issued for them up to `at`; answers how many keys went.
   */
  async deleteByPeer(peerId: string, at: number): Promise<number> {
    const rows = await this.#db.query<{ n: number }>(
      `WITH gone AS (UPDATE api_keys SET deleted_at = $2 WHERE peer_id = $1 AND deleted_at IS NULL RETURNING peer_id),
       cut AS (INSERT INTO token_cutoffs (peer_id, at) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM gone)
               ON CONFLICT (peer_id) DO UPDATE SET at = EXCLUDED.at)
       SELECT count(*)::int AS n FROM gone`,
      [peerId, at],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Every cut-off, whatever its age: dropping the ones older than the token lifetime made a
   * deleted key's tokens valid again after a restart with a smaller TOKEN_TTL_S (one row per peer).
   */
  async tokenCutoffs(): Promise<{ peer_id: string; at: number }[]> {
    return this.#db.query('SELECT peer_id, at FROM token_cutoffs');
  }
}
