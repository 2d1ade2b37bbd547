import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { schemaStatements, SCHEMA_VERSION } from './schema.ts';

/** The small SQL surface every store uses; PGlite and node-postgres both fit behind it. */
export interface Db {
  readonly kind: 'pglite' | 'postgres';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** PostgreSQL only: put every table in this schema (created if missing). */
  schema?: string | undefined;
  onProgress?: (msg: string) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDb(opts: OpenDbOptions): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.schema);
  const db = await openPglite(opts.dataDir, opts.onProgress);
  await migrate((sql, params) => db.query(sql, params));
  return db;
}

async function openPglite(dataDir: string, onProgress?: (msg: string) => void): Promise<Db> {
  const dir = join(dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  onProgress?.(`opening the embedded database in ${dir} (the first start takes a few seconds)`);
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = new PGlite(dir);
  await pg.waitReady;
  // PGlite runs one query at a time; a promise chain keeps callers from interleaving.
  let chain: Promise<unknown> = Promise.resolve();
  return {
    kind: 'pglite',
    query<T>(sql: string, params: unknown[] = []) {
      const run = chain.then(async () => (await pg.query<T>(sql, params)).rows);
      chain = run.catch(() => undefined);
      return run;
    },
    async close() {
      await chain;
      await pg.close();
    },
  };
}

/** node-postgres needs a user name; a URL without one falls back to PGUSER, USER, then "postgres". */
export function withUser(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username) u.username = process.env.PGUSER || process.env.USER || 'postgres';
    return u.toString();
  } catch {
    return url;
  }
}

async function openPostgres(rawUrl: string, schema?: string): Promise<Db> {
  const { default: pgLib } = await import('pg');
  const url = withUser(rawUrl);
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`DATABASE_SCHEMA "${schema}" is not a plain lower-case identifier`);
  // DDL on one dedicated connection under an advisory lock: several instances may start together.
  const admin = new pgLib.Client({ connectionString: url });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    await admin.query('SELECT pg_advisory_lock(424242)');
    if (schema) {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await admin.query(`SET search_path TO ${schema}`);
    }
    await migrate(async (sql, params) => (await admin.query(sql, params)).rows);
  } finally {
    await admin.end();
  }
  const pool = new pgLib.Pool({
    connectionString: url,
    max: 8,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // A dropped connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    async query<T>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as T[];
    },
    close: () => pool.end(),
  };
}

async function migrate(run: (sql: string, params?: unknown[]) => Promise<unknown>): Promise<void> {
  for (const stmt of schemaStatements()) await run(stmt);
  await run(`INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING`, [String(SCHEMA_VERSION)]);
}
