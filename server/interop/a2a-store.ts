import { Task, TaskState, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';
import type { Db } from '../storage/db.ts';
import { callerOf } from './a2a-context.ts';

interface Row {
  id: string;
  owner: string;
  agent_id: string;
  task: unknown;
}

const MAX_PAGE = 100;

/**
 * The A2A door's tasks in the registry's database (table a2a_tasks), so GetTask and ListTasks
 * answer after a restart. Each task belongs to the caller that sent it and the agent it was sent
 * to: another caller, or the same id asked at another agent's URL, finds nothing (an admin sees all).
 */
export class A2aTaskStore implements TaskStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  async save(task: Task, ctx: ServerCallContext): Promise<void> {
    const { principal, agentId } = callerOf(ctx);
    await this.#db.query(
      `INSERT INTO a2a_tasks (id, owner, agent_id, context_id, state, updated_at, task) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at, task = EXCLUDED.task
       WHERE a2a_tasks.owner = EXCLUDED.owner AND a2a_tasks.agent_id = EXCLUDED.agent_id`,
      [
        task.id,
        principal.peerId,
        agentId,
        task.contextId,
        task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED,
        Date.now() / 1000,
        JSON.stringify(Task.toJSON(task)),
      ],
    );
  }

  async load(taskId: string, ctx: ServerCallContext): Promise<Task | undefined> {
    const rows = await this.#db.query<Row>('SELECT id, owner, agent_id, task FROM a2a_tasks WHERE id = $1', [taskId]);
    const r = rows[0];
    return r && this.#visible(r, ctx) ? Task.fromJSON(parse(r.task)) : undefined;
  }

  async list(params: ListTasksRequest, ctx: ServerCallContext): Promise<ListTasksResponse> {
    const { principal, agentId } = callerOf(ctx);
    const size = Math.min(MAX_PAGE, Math.max(1, params.pageSize ?? 50));
    const offset = Math.max(0, Number.parseInt(params.pageToken || '0', 10) || 0);
    const where = ['agent_id = $1', '($2 OR owner = $3)'];
    const args: unknown[] = [agentId, principal.role === 'admin', principal.peerId];
    if (params.contextId) where.push(`context_id = $${args.push(params.contextId)}`);
    if (params.status) where.push(`state = $${args.push(params.status)}`);
    const total = await this.#db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM a2a_tasks WHERE ${where.join(' AND ')}`, args);
    const rows = await this.#db.query<Row>(
      `SELECT id, owner, agent_id, task FROM a2a_tasks WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id LIMIT ${size} OFFSET ${offset}`,
      args,
    );
    const totalSize = Number(total[0]?.n ?? 0);
    return {
      tasks: rows.map((r) => Task.fromJSON(parse(r.task))),
      nextPageToken: offset + rows.length < totalSize ? String(offset + rows.length) : '',
      pageSize: size,
      totalSize,
    };
  }

  #visible(r: Row, ctx: ServerCallContext): boolean {
    const { principal, agentId } = callerOf(ctx);
    return r.agent_id === agentId && (r.owner === principal.peerId || principal.role === 'admin');
  }
}

const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
