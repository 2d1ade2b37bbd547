import type { Db } from './db.ts';
import type { AuditEntry } from '../../mesh/protocol/index.ts';

/** The append-only log of admin, key and pairing actions (no update or delete exists here). */
export class AuditLog {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  async append(actor: string, action: string, target: string, detail: Record<string, unknown>, now: number): Promise<AuditEntry> {
    const rows = await this.#db.query<AuditEntry>('INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *', [
      now,
      actor,
      action,
      target,
      JSON.stringify(detail),
    ]);
    const row = rows[0]!;
    return { ...row, detail: typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail };
  }

  /** Newest first. */
  async list(limit: number, beforeId?: number): Promise<AuditEntry[]> {
    const rows = beforeId
      ? await this.#db.query<AuditEntry>('SELECT * FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2', [beforeId, limit])
      : await this.#db.query<AuditEntry>('SELECT * FROM audit ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((r) => ({ ...r, detail: typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail }));
  }
}
