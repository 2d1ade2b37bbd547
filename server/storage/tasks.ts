import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import type { Task, TaskState } from '../../mesh/protocol/index.ts';

interface TaskRow extends Omit<Task, 'result'> {
  owner: string;
  idempotency_key: string | null;
  result: unknown;
}

export interface StoredTask {
  task: Task;
  owner: string;
}

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

function toStored(r: TaskRow): StoredTask {
  return {
    owner: r.owner,
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
    },
  };
}

/** The HTTP task queue: pending → assigned → completed | failed, with TTL expiry. */
export class TaskStore {
  constructor(private readonly db: Db) {}

  /** Queues a task; with an idempotency key a repeat answers the first task (created=false). */
  async submit(t: NewTask, owner: string, now: number): Promise<{ stored: StoredTask; created: boolean }> {
    const id = randomBytes(6).toString('hex');
    const key = t.idempotency_key === undefined ? null : `${owner}\n${t.idempotency_key}`;
    const rows = await this.db.query<TaskRow>(
      `INSERT INTO tasks (id, idempotency_key, owner, skill, target_agent_id, source_agent_id, payload, state, created_at, updated_at, ttl)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'pending', $8, $8, $9)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
      [id, key, owner, t.skill, t.target_agent_id, t.source_agent_id, JSON.stringify(t.payload ?? {}), now, t.ttl],
    );
    if (rows[0]) return { stored: toStored(rows[0]), created: true };
    const existing = await this.db.query<TaskRow>('SELECT * FROM tasks WHERE idempotency_key = $1', [key]);
    return { stored: toStored(existing[0]!), created: false };
  }

  async get(id: string): Promise<StoredTask | undefined> {
    const rows = await this.db.query<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return rows[0] && toStored(rows[0]);
  }

  async list(limit: number, state?: TaskState): Promise<Task[]> {
    const rows = state
      ? await this.db.query<TaskRow>('SELECT * FROM tasks WHERE state = $1 ORDER BY created_at DESC LIMIT $2', [state, limit])
      : await this.db.query<TaskRow>('SELECT * FROM tasks ORDER BY created_at DESC LIMIT $1', [limit]);
    return rows.map((r) => toStored(r).task);
  }

  /** Fails every unfinished task older than its TTL; answers the ones it failed. */
  async expire(now: number): Promise<Task[]> {
    const rows = await this.db.query<TaskRow>(
      `UPDATE tasks SET state = 'failed', error = 'TTL expired', updated_at = $1
       WHERE state IN ('pending', 'assigned') AND created_at + ttl < $1 RETURNING *`,
      [now],
    );
    return rows.map((r) => toStored(r).task);
  }

  /**
   * Hands the pending tasks meant for this agent to it (by target id, or by skill when the
   * task names no target) and marks them assigned in the same statement, so two heartbeats
   * never receive the same task.
   */
  async claimFor(agentId: string, skills: string[], now: number): Promise<Task[]> {
    const rows = await this.db.query<TaskRow>(
      `UPDATE tasks SET state = 'assigned', assigned_agent_id = $1, updated_at = $3
       WHERE state = 'pending' AND created_at + ttl >= $3 AND (
         target_agent_id = $1 OR
         (target_agent_id = '' AND skill <> '' AND skill IN (SELECT jsonb_array_elements_text($2::jsonb))))
       RETURNING *`,
      [agentId, JSON.stringify(skills), now],
    );
    return rows.map((r) => toStored(r).task).sort((a, b) => a.created_at - b.created_at);
  }

  /** Moves a task to a new state; only from the states given (the caller checks transitions). */
  async update(id: string, from: TaskState[], to: TaskState, result: unknown, error: string | undefined, now: number, assignee?: string): Promise<StoredTask | undefined> {
    const rows = await this.db.query<TaskRow>(
      `UPDATE tasks SET state = $2, result = COALESCE($3::jsonb, result), error = COALESCE($4, error), updated_at = $5,
         assigned_agent_id = COALESCE($7, assigned_agent_id)
       WHERE id = $1 AND state IN (SELECT jsonb_array_elements_text($6::jsonb)) RETURNING *`,
      [id, to, result === undefined ? null : JSON.stringify(result), error ?? null, now, JSON.stringify(from), assignee ?? null],
    );
    return rows[0] && toStored(rows[0]);
  }
}
