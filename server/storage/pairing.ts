import type { Db } from './db.ts';
import type { PairingEntry, PairingStatus, PublicKeyJwk } from '../../mesh/protocol/index.ts';

interface PairingRow {
  id: string;
  agent_name: string;
  peer_id: string;
  status: PairingStatus;
  device_token_hash: string | null;
  claim_secret_hash: string;
  token_claimed: boolean;
  public_key: PublicKeyJwk | string | null;
  certificate: string | null;
  key_id: string | null;
  client_ip: string;
  created_at: number;
  updated_at: number;
}

export interface StoredPairing {
  entry: PairingEntry;
  claimSecretHash: string;
  publicKey: PublicKeyJwk | null;
  certificate: string | null;
}

function toStored(r: PairingRow): StoredPairing {
  const pk = typeof r.public_key === 'string' ? (JSON.parse(r.public_key) as PublicKeyJwk) : r.public_key;
  const cert =
    r.certificate === null ? null : typeof r.certificate === 'string' && r.certificate.startsWith('"') ? (JSON.parse(r.certificate) as string) : r.certificate;
  return {
    entry: {
      id: r.id,
      agent_name: r.agent_name,
      peer_id: r.peer_id,
      status: r.status,
      key_id: r.key_id,
      token_claimed: r.token_claimed,
      client_ip: r.client_ip,
      created_at: r.created_at,
      updated_at: r.updated_at,
    },
    claimSecretHash: r.claim_secret_hash,
    publicKey: pk,
    certificate: cert,
  };
}

/** Invite codes and the onboarding entries they create (pending → approved | rejected; approved → revoked). */
export class PairingStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Stores a new code; false when that code is still live (the caller draws another). */
  async addCode(code: string, createdBy: string, now: number, expiresAt: number): Promise<boolean> {
    await this.#db.query('DELETE FROM pairing_codes WHERE used OR expires_at <= $1', [now]);
    const rows = await this.#db.query(
      'INSERT INTO pairing_codes (code, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING RETURNING code',
      [code, createdBy, now, expiresAt],
    );
    return rows.length > 0;
  }

  /** Marks a live code used (single use); answers who created it, or undefined. */
  async consumeCode(code: string, now: number): Promise<string | undefined> {
    const rows = await this.#db.query<{ created_by: string }>(
      'UPDATE pairing_codes SET used = true WHERE code = $1 AND NOT used AND expires_at > $2 RETURNING created_by',
      [code, now],
    );
    return rows[0]?.created_by;
  }

  /**
   * A redemption that matched no live code: it counts against every live code (a guess names no
   * particular one), and codes that reach `max` wrong attempts die. Answers how many died now.
   */
  async wrongAttempt(now: number, max: number): Promise<number> {
    const rows = await this.#db.query<{ used: boolean }>(
      `UPDATE pairing_codes SET wrong_attempts = wrong_attempts + 1, used = (wrong_attempts + 1 >= $2)
       WHERE NOT used AND expires_at > $1 RETURNING used`,
      [now, max],
    );
    return rows.filter((r) => r.used).length;
  }

  async create(
    e: {
      id: string;
      agent_name: string;
      peer_id: string;
      claim_secret_hash: string;
      public_key: PublicKeyJwk | undefined;
      key_id: string | undefined;
      client_ip: string;
    },
    now: number,
  ): Promise<StoredPairing> {
    const rows = await this.#db.query<PairingRow>(
      `INSERT INTO pairing (id, agent_name, peer_id, status, claim_secret_hash, public_key, key_id, client_ip, created_at, updated_at)
       VALUES ($1, $2, $3, 'pending_approval', $4, $5::jsonb, $6, $7, $8, $8) RETURNING *`,
      [e.id, e.agent_name, e.peer_id, e.claim_secret_hash, e.public_key ? JSON.stringify(e.public_key) : null, e.key_id ?? null, e.client_ip, now],
    );
    return toStored(rows[0]!);
  }

  async get(id: string): Promise<StoredPairing | undefined> {
    const rows = await this.#db.query<PairingRow>('SELECT * FROM pairing WHERE id = $1', [id]);
    return rows[0] && toStored(rows[0]);
  }

  async list(status?: PairingStatus): Promise<PairingEntry[]> {
    const rows = status
      ? await this.#db.query<PairingRow>('SELECT * FROM pairing WHERE status = $1 ORDER BY created_at DESC', [status])
      : await this.#db.query<PairingRow>('SELECT * FROM pairing ORDER BY created_at DESC');
    return rows.map((r) => toStored(r).entry);
  }

  /** Moves an entry from one status to another; undefined when it is not in `from`. */
  async transition(id: string, from: PairingStatus, to: PairingStatus, now: number, certificate?: string): Promise<StoredPairing | undefined> {
    const rows = await this.#db.query<PairingRow>(
      `UPDATE pairing SET status = $3, updated_at = $4, certificate = COALESCE($5::jsonb, certificate)
       WHERE id = $1 AND status = $2 RETURNING *`,
      [id, from, to, now, certificate === undefined ? null : JSON.stringify(certificate)],
    );
    return rows[0] && toStored(rows[0]);
  }

  /** Hands the device token over once: stores its hash only if nobody claimed it before. */
  async claimToken(id: string, deviceTokenHash: string, now: number): Promise<StoredPairing | undefined> {
    const rows = await this.#db.query<PairingRow>(
      `UPDATE pairing SET token_claimed = true, device_token_hash = $2, updated_at = $3
       WHERE id = $1 AND status = 'approved' AND NOT token_claimed RETURNING *`,
      [id, deviceTokenHash, now],
    );
    return rows[0] && toStored(rows[0]);
  }

  /** The peer of a device token that is (approved) or was (revoked) valid. */
  async peerByDeviceToken(hash: string): Promise<{ peer_id: string; status: 'approved' | 'revoked' } | undefined> {
    const rows = await this.#db.query<{ peer_id: string; status: 'approved' | 'revoked' }>(
      "SELECT peer_id, status FROM pairing WHERE device_token_hash = $1 AND status IN ('approved', 'revoked')",
      [hash],
    );
    return rows[0];
  }

  async revokedPeers(): Promise<string[]> {
    return (await this.#db.query<{ peer_id: string }>("SELECT peer_id FROM pairing WHERE status = 'revoked'")).map((r) => r.peer_id);
  }
}
