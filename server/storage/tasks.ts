import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import type { Role, Task, TaskState } from '../../mesh/protocol/index.ts';

interface TaskRow extends Omit<Task, 'result' | 'attempts'> {
  owner: string;
  owner_role: Role;
  idempotency_key: string | null;
  result: unknown;
  attempts: number;
  lease_until: number | null;
  holder_peer: string;
  former_holders: unknown;
}

/** An agent that held the task until its lease ran out, and the peer that claimed it for that agent. */
export interface FormerHolder {
  agent_id: string;
  peer_id: string;
}

export interface StoredTask {
  task: Task;
  owner: string;
  /** The peer whose heartbeat claimed the task for the current (or last) holder. */
  holderPeer: string;
  /** Epoch seconds; null when the task is not held under a lease. */
  leaseUntil: number | null;
  /** Holders that lost the task because they stopped heartbeating, oldest first. */
  formerHolders: FormerHolder[];
}

/** Defaults of TASK_LEASE_S and TASK_MAX_ATTEMPTS (server/config.ts passes the configured ones). */
export const DEFAULT_LEASE_S = 60;
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface NewTask {
  skill: string;
  target_agent_id: string;
  source_agent_id: string;
  payload: unknown;
  ttl: number;
  idempotency_key?: string | undefined;
}

const parse = (v: unknown) => (typeof v === 'string' ? safeJson(v) : v);
function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function holders(v: unknown): FormerHolder[] {
  const list = parse(v);
  return Array.isArray(list) ? (list as FormerHolder[]) : [];
}

function toStored(r: TaskRow): StoredTask {
  return {
    owner: r.owner,
    holderPeer: r.holder_peer ?? '',
    leaseUntil: r.lease_until ?? null,
    formerHolders: holders(r.former_holders),
    task: {
      id: r.id,
      skill: r.skill,
      target_agent_id: r.target_agent_id,
      source_agent_id: r.source_agent_id,
      assigned_agent_id: r.assigned_agent_id,
      payload: parse(r.payload) ?? {},
      state: r.state,
      result: r.result === null || r.result === undefined ? '' : parse(r.result),
      error: r.error,
      created_at: r.created_at,
      updated_at: r.updated_at,
      ttl: r.ttl,
      attempts: Number(r.attempts ?? 0),
      submitter_peer_id: r.owner,
      submitter_role: r.owner_role ?? 'agent',
      holder_peer_id: r.holder_peer ?? '',
    },
  };
}

/**
 * The sweep, one UPDATE so that several registry instances on one PostgreSQL never both act on a
 * task (a row is locked by the first; the second re-checks its WHERE on the new row and skips it):
 * - unfinished and past its TTL → failed, "TTL expired";
 * - assigned and its lease ran out (the holder stopped heartbeating):
 *   · with an idempotency key → failed at once (the dead agent may have run it; never twice);
 *   · handed out maxAttempts times already → failed, naming the holders and the count;
 *   · otherwise → pending again, holder cleared, for the next agent with the skill.
 * $1 = now, $2 = max attempts.
 */
const TTL_OUT = 'created_at + ttl < $1';
const LEASE_OUT = "state = 'assigned' AND lease_until IS NOT NULL AND lease_until < $1";
const REQUEUE = `NOT (${TTL_OUT}) AND idempotency_key IS NULL AND attempts < $2`;
const HOLDER = "jsonb_build_array(jsonb_build_object('agent_id', assigned_agent_id, 'peer_id', holder_peer))";
const SWEEP_SQL = `
UPDATE tasks SET
  state = CASE WHEN ${REQUEUE} THEN 'pending' ELSE 'failed' END,
  error = CASE
    WHEN ${TTL_OUT} THEN 'TTL expired'
    WHEN idempotency_key IS NOT NULL THEN
      'agent ' || assigned_agent_id || ' stopped heartbeating while holding it; not retried because it has an idempotency key'
      || ' (it may have run before the agent died) — submit again with a new key to retry'
    WHEN attempts >= $2 THEN
      'the agents holding it stopped heartbeating ('
      || (SELECT string_agg(h->>'agent_id', ', ') FROM jsonb_array_elements(former_holders || ${HOLDER}) AS h)
      || '); tried ' || attempts || ' times, giving up'
    ELSE error END,
  former_holders = CASE WHEN ${TTL_OUT} THEN former_holders ELSE former_holders || ${HOLDER} END,
  assigned_agent_id = CASE WHEN ${REQUEUE} THEN '' ELSE assigned_agent_id END,
  lease_until = NULL,
  updated_at = $1
WHERE state IN ('pending', 'assigned') AND (${TTL_OUT} OR (${LEASE_OUT}))
RETURNING *`;

/**
 * The HTTP task queue: pending → assigned → completed | failed, with TTL expiry, and a lease on
 * assigned tasks: a task stays with its agent only while that agent keeps heartbeating.
 */
export class TaskStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** Queues a task; with an idempotency key a repeat answers the first task (created=false). */
  async submit(t: NewTask, owner: string, now: number, ownerRole: Role = 'agent'): Promise<{ stored: StoredTask; created: boolean }> {
    const id = randomBytes(6).toString('hex');
    const key = t.idempotency_key === undefined ? null : `${owner}\n${t.idempotency_key}`;
    const rows = await this.#db.query<TaskRow>(
      `INSERT INTO tasks (id, idempotency_key, owner, owner_role, skill, target_agent_id, source_agent_id, payload, state, created_at, updated_at, ttl)
       VALUES ($1, $2, $3, $10, $4, $5, $6, $7::jsonb, 'pending', $8, $8, $9)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      [id, key, owner, t.skill, t.target_agent_id, t.source_agent_id, JSON.stringify(t.payload ?? {}), now, t.ttl, ownerRole],
    );
    if (rows[0]) return { stored: toStored(rows[0]), created: true };
    const existing = await this.#db.query<TaskRow>('SELECT * FROM tasks WHERE idempotency_key = $1', [key]);
    return { stored: toStored(existing[0]!), created: false };
  }

  async get(id: string): Promise<StoredTask | undefined> {
    const rows = await this.#db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return rows[0] && toStored(rows[0]);
  }

  /** Newest first; `peer`: only the tasks it submitted or holds (or held) — admins pass none. */
  async list(limit: number, state?: TaskState, peer?: string): Promise<Task[]> {
    const rows = await this.#db.query<TaskRow>(
      `SELECT * FROM tasks WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR owner = $2 OR holder_peer = $2)
       ORDER BY created_at DESC LIMIT $3`,
      [state ?? null, peer ?? null, limit],
    );
    return rows.map((r) => toStored(r).task);
  }

  /**
   * The sweep (see SWEEP_SQL): fails tasks past their TTL, and re-queues or fails assigned tasks
   * whose holder's lease ran out (re-queued until handed out `maxAttempts` times). Answers every
   * task it changed (state pending = re-queued).
   */
  async expire(now: number, maxAttempts = DEFAULT_MAX_ATTEMPTS): Promise<Task[]> {
    const rows = await this.#db.query<TaskRow>(SWEEP_SQL, [now, maxAttempts]);
    return rows.map((r) => toStored(r).task);
  }

  /**
   * Gives every held task at least one full lease from now. Run once when a registry instance
   * starts: while no registry was up, no agent could heartbeat, so silence then is no sign of a
   * dead holder. Also gives assigned rows from before leases existed their first lease.
   */
  async graceLeases(now: number, leaseS = DEFAULT_LEASE_S): Promise<number> {
    const until = now + leaseS;
    const rows = await this.#db.query(
      `UPDATE tasks SET lease_until = $1
       WHERE state = 'assigned' AND assigned_agent_id <> '' AND (lease_until IS NULL OR lease_until < $1) RETURNING id`,
      [until],
    );
    return rows.length;
  }

  /**
   * One heartbeat of an agent, in one statement: renews the lease of every task it holds, and
   * hands it the pending tasks meant for it (by target id, or by skill when the task names no
   * target), marking them assigned under a fresh lease of `leaseS` — so two heartbeats never
   * receive the same task. `peerId` is the peer the heartbeat came from (a holder's late updates
   * are recognised by it once its lease is lost).
   */
  async claimFor(agentId: string, skills: string[], now: number, leaseS = DEFAULT_LEASE_S, peerId = ''): Promise<Task[]> {
    const rows = await this.#db.query<TaskRow>(
      `WITH renewed AS (
         UPDATE tasks SET lease_until = $4 WHERE state = 'assigned' AND assigned_agent_id = $1 RETURNING id
       )
       UPDATE tasks SET state = 'assigned', assigned_agent_id = $1, updated_at = $3,
         attempts = attempts + 1, lease_until = $4, holder_peer = $5
       WHERE state = 'pending' AND created_at + ttl >= $3 AND (
         target_agent_id = $1 OR
         (target_agent_id = '' AND skill <> '' AND skill IN (SELECT jsonb_array_elements_text($2::jsonb))))
       RETURNING *`,
      [agentId, JSON.stringify(skills), now, now + leaseS, peerId],
    );
    return rows.map((r) => toStored(r).task).sort((a, b) => a.created_at - b.created_at);
  }

  /**
   * A peer was revoked: every unfinished task it holds, that is meant for one of its agents, or
   * that it submitted, fails now with `error`, so nobody waits for the TTL.
   */
  async failForPeer(peerId: string, agentIds: string[], error: string, now: number): Promise<Task[]> {
    const rows = await this.#db.query<TaskRow>(
      `UPDATE tasks SET state = 'failed', error = $3, updated_at = $4, lease_until = NULL
       WHERE state IN ('pending', 'assigned') AND (
         owner = $1 OR (state = 'assigned' AND holder_peer = $1) OR
         target_agent_id IN (SELECT jsonb_array_elements_text($2::jsonb)) OR
         (state = 'assigned' AND assigned_agent_id IN (SELECT jsonb_array_elements_text($2::jsonb))))
       RETURNING *`,
      [peerId, JSON.stringify(agentIds), error, now],
    );
    return rows.map((r) => toStored(r).task);
  }

  /**
   * Moves a task to a new state; only from the states given (the caller checks transitions) and,
   * when `attempts` is given, only if the task was not handed out again meanwhile (a re-queue and
   * a new claim between the caller's read and this write must not let a lost holder's update in).
   */
  async update(
    id: string,
    from: TaskState[],
    to: TaskState,
    result: unknown,
    error: string | undefined,
    now: number,
    attempts?: number,
  ): Promise<StoredTask | undefined> {
    const rows = await this.#db.query<TaskRow>(
      `UPDATE tasks SET state = $2, result = COALESCE($3::jsonb, result), error = COALESCE($4, error), updated_at = $5,
         lease_until = CASE WHEN $2 = 'assigned' THEN lease_until ELSE NULL END
       WHERE id = $1 AND state IN (SELECT jsonb_array_elements_text($6::jsonb)) AND ($7::integer IS NULL OR attempts = $7)
       RETURNING *`,
      [id, to, result === undefined ? null : JSON.stringify(result), error ?? null, now, JSON.stringify(from), attempts ?? null],
    );
    return rows[0] && toStored(rows[0]);
  }
}
