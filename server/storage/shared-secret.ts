import type { Db } from './db.ts';

/**
 * A secret every instance on one PostgreSQL shares (JWT secret, CA key): the first instance
 * stores it, the others read the same one. Only used with DATABASE_URL.
 */
export async function sharedSecret(db: Db, name: string, create: () => string): Promise<string> {
  const key = `secret:${name}`;
  await db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, create()]);
  const rows = await db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
  return rows[0]!.value;
}
