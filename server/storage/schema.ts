/**
 * The one SQL schema, run as is on PGlite (embedded) and on PostgreSQL (DATABASE_URL).
 * Times are epoch seconds as double precision: both drivers return them as JS numbers.
 * Secrets (API keys, device tokens, claim secrets) are stored only as SHA-256 hashes.
 *
 * Migrations: every start runs all of this; each statement is idempotent (IF NOT EXISTS, ADD COLUMN
 * IF NOT EXISTS, an UPDATE that only touches rows written before a column existed), so an existing
 * database of any earlier version is brought up to date in place. `schema_version` in `meta` is
 * written once at creation and is informational only.
 *
 * Tasks: `attempts` counts how often the task was handed to an agent; `lease_until` (assigned tasks
 * only) is renewed by every heartbeat of the holder; `holder_peer` is the peer that claimed it;
 * `former_holders` ([{agent_id, peer_id}]) lists holders whose lease ran out (their late updates are
 * refused). Rows from before these columns: assigned ones get attempts 1 here and a lease on the
 * registry's first sweep (TaskStore.graceLeases).
 *
 * `a2a_tasks`: tasks of the A2A door (docs/interop.md), one row per task as the A2A JSON of the
 * task, its caller (`owner`) and the agent it was sent to; they outlive a registry restart.
 *
 * `token_cutoffs`: JWTs of a peer issued at or before `at` are refused (its API key was deleted);
 * kept for good, so neither a restart nor a change of TOKEN_TTL_S makes them valid again.
 * `api_keys.deleted_at`: a deleted key stays as a tombstone (hash only), so presenting it again is
 * answered "revoked" rather than "unknown key".
 */
export const SCHEMA_VERSION = 1;

/** Statements end with ";" at the end of a line followed by a line starting with a keyword. */
export function schemaStatements(): string[] {
  return SCHEMA_SQL.split(/;\s*\n(?=[A-Z])/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean);
}

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash   text PRIMARY KEY,
  peer_id    text NOT NULL,
  role       text NOT NULL,
  created_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_peer ON api_keys (peer_id);
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS deleted_at double precision;
CREATE TABLE IF NOT EXISTS token_cutoffs (
  peer_id text PRIMARY KEY,
  at      double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS agents (
  agent_id       text PRIMARY KEY,
  peer_id        text NOT NULL,
  owner          text NOT NULL,
  info           jsonb NOT NULL,
  registered_at  double precision NOT NULL,
  last_heartbeat double precision NOT NULL,
  last_routed    double precision NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tasks (
  id                text PRIMARY KEY,
  idempotency_key   text UNIQUE,
  owner             text NOT NULL,
  skill             text NOT NULL,
  target_agent_id   text NOT NULL,
  source_agent_id   text NOT NULL,
  assigned_agent_id text NOT NULL DEFAULT '',
  payload           jsonb,
  state             text NOT NULL,
  result            jsonb,
  error             text NOT NULL DEFAULT '',
  created_at        double precision NOT NULL,
  updated_at        double precision NOT NULL,
  ttl               double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state);
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS lease_until double precision;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS holder_peer text NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS former_holders jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS owner_role text NOT NULL DEFAULT 'agent';
UPDATE tasks SET attempts = 1 WHERE attempts = 0 AND assigned_agent_id <> '';
CREATE INDEX IF NOT EXISTS tasks_holder ON tasks (assigned_agent_id) WHERE state = 'assigned';
CREATE TABLE IF NOT EXISTS links (
  from_peer  text NOT NULL,
  to_peer    text NOT NULL,
  path       text NOT NULL,
  rtt_ms     double precision,
  updated_at double precision NOT NULL,
  PRIMARY KEY (from_peer, to_peer)
);
CREATE TABLE IF NOT EXISTS pairing_codes (
  code       text PRIMARY KEY,
  created_by text NOT NULL,
  created_at double precision NOT NULL,
  expires_at double precision NOT NULL,
  used       boolean NOT NULL DEFAULT false
);
ALTER TABLE pairing_codes ADD COLUMN IF NOT EXISTS wrong_attempts integer NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS pairing (
  id                text PRIMARY KEY,
  agent_name        text NOT NULL,
  peer_id           text NOT NULL UNIQUE,
  status            text NOT NULL,
  device_token_hash text,
  device_token_enc  text,
  claim_secret_hash text NOT NULL,
  token_claimed     boolean NOT NULL DEFAULT false,
  public_key        jsonb,
  certificate       jsonb,
  created_at        double precision NOT NULL,
  updated_at        double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS pairing_token ON pairing (device_token_hash);
ALTER TABLE pairing ADD COLUMN IF NOT EXISTS key_id text;
ALTER TABLE pairing ADD COLUMN IF NOT EXISTS client_ip text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS identities (
  peer_id     text PRIMARY KEY,
  key_id      text NOT NULL,
  public_key  jsonb NOT NULL,
  certificate text NOT NULL,
  issued_at   double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at     double precision NOT NULL,
  actor  text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  detail jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS a2a_tasks (
  id         text PRIMARY KEY,
  owner      text NOT NULL,
  agent_id   text NOT NULL,
  context_id text NOT NULL,
  state      integer NOT NULL,
  updated_at double precision NOT NULL,
  task       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS a2a_tasks_owner ON a2a_tasks (owner, updated_at);
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
  END
$fn$;
DROP TRIGGER IF EXISTS audit_no_change ON audit;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only()
`;
