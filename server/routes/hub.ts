import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import { Id, TaskState, taskSkills, type HeartbeatResponse, type Task, type TaskSubmitted } from '../../mesh/protocol/index.ts';
import type { Principal } from '../auth/tokens.ts';
import type { StoredTask } from '../storage/tasks.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { clientIp, readJson } from '../http/body.ts';
import { ApiError, badRequest, conflict, forbidden, notFound, tooMany } from '../http/errors.ts';
import { mayCall } from '../../mesh/identity/acl.ts';
import { requireAuth } from '../http/auth.ts';
import { claimedPeer, ownAgentId, providedSkills } from './agents.ts';
import { log } from '../log.ts';

/**
 * Moves a client may make (docs/trust.md): `assigned` only comes from the registry's claim path
 * (a heartbeat), never from a client; a pending task can only be cancelled (failed).
 */
const NEXT: Record<TaskState, TaskState[]> = {
  pending: ['failed'],
  assigned: ['completed', 'failed'],
  completed: [],
  failed: [],
};

/** Submitter, holder (current or last) and admins see a task; nobody else learns it exists. */
export function maySee(p: Principal, s: StoredTask): boolean {
  return p.role === 'admin' || s.owner === p.peerId || (s.holderPeer !== '' && s.holderPeer === p.peerId);
}

export function hubRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.use('/api/hub/*', requireAuth(reg));

  /** Upsert the agent, record the reported links, hand over its pending tasks. */
  app.post(ROUTES.heartbeat.path, async (c) => {
    const p = c.get('principal');
    const hb = await readJson(c, ROUTES.heartbeat.body);
    const t = now();
    const existing = await reg.agents.get(hb.agent_id, t);
    const owner = await ownAgentId(reg, p, hb.agent_id, existing);
    const peerId = claimedPeer(p, hb.peer_id, hb.sidecar_peer_id, p.role === 'admin' ? existing?.record.peer_id : undefined);
    // Skill advertisements: only for the caller's own agents (above), and only skills its peer may offer.
    const { skills, refused } = providedSkills(reg, peerId, hb.skill_names);
    const prev = existing?.record;
    await reg.agents.upsert(
      {
        agent_id: hb.agent_id,
        hostname: hb.hostname,
        ip: hb.ip,
        port: hb.port,
        sidecar_peer_id: hb.sidecar_peer_id || prev?.sidecar_peer_id || peerId,
        capabilities: {
          ...(prev?.capabilities ?? { mcp_servers: [], mode: '' }),
          skills,
          goals_count: hb.goals_count,
          mode: hb.mode,
        },
        status: hb.status,
        mode: hb.mode,
        description: prev?.description,
      },
      peerId,
      owner,
      t,
    );
    if (hb.links) {
      await reg.links.replace(peerId, hb.links, t);
      reg.topologyChanged();
    }
    if (existing?.record.health !== 'active') reg.agentsChanged();
    // No expiry sweep here: claimFor skips expired tasks itself and the timer fails them.
    // The same statement renews the lease of every task this agent holds.
    const pending = await reg.tasks.claimFor(hb.agent_id, skills, t, reg.cfg.taskLeaseS, p.peerId);
    for (const task of pending) reg.bus.publish({ type: 'tasks', data: task });
    return c.json({ status: 'ok', pending_tasks: pending, ...(refused.length && { refused_skills: refused }) } satisfies HeartbeatResponse);
  });

  app.post(ROUTES.submitTask.path, async (c) => {
    const p = c.get('principal');
    if (!reg.limits.task.take(`${p.peerId}|${clientIp(c)}`)) throw tooMany();
    const sub = await readJson(c, ROUTES.submitTask.body);
    // The task queue enforces the same skill policy as the receiving peers, whichever field names
    // the skill (`skill`, or `payload.skill` as the Rust/Python agents send it).
    for (const skill of taskSkills(sub)) {
      const decision = mayCall(reg.skillPolicy, { caller_peer_id: p.peerId, caller_role: p.role, skill });
      if (!decision.allowed) throw new ApiError(403, 'skill_forbidden', decision.reason);
    }
    const { stored, created } = await reg.tasks.submit(
      {
        skill: sub.skill,
        target_agent_id: sub.target_agent_id,
        source_agent_id: sub.source_agent_id,
        payload: sub.payload,
        ttl: sub.ttl ?? reg.cfg.taskTtlS,
        idempotency_key: sub.idempotency_key,
      },
      p.peerId,
      now(),
      p.role,
    );
    if (created) reg.bus.publish({ type: 'tasks', data: stored.task });
    return c.json({ task_id: stored.task.id } satisfies TaskSubmitted, created ? 201 : 200);
  });

  app.get(ROUTES.listTasks.path, async (c) => {
    await expire(reg);
    const stateQ = c.req.query('state');
    const state = stateQ === undefined ? undefined : TaskState.safeParse(stateQ);
    if (state && !state.success) throw badRequest('state must be pending, assigned, completed or failed');
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('limit') ?? 500) || 500));
    const p = c.get('principal');
    return c.json(await reg.tasks.list(limit, state?.data, p.role === 'admin' ? undefined : p.peerId));
  });

  app.get(ROUTES.getTask.path, async (c) => {
    await expire(reg);
    const id = c.req.param('id');
    if (!Id.safeParse(id).success) throw badRequest('task id is not a valid id');
    const s = await reg.tasks.get(id);
    if (!s || !maySee(c.get('principal'), s)) throw notFound('task');
    return c.json(s.task);
  });

  app.post(ROUTES.updateTask.path, async (c) => {
    const p = c.get('principal');
    if (!reg.limits.task.take(`${p.peerId}|${clientIp(c)}`)) throw tooMany();
    const id = c.req.param('id');
    if (!Id.safeParse(id).success) throw badRequest('task id is not a valid id');
    const upd = await readJson(c, ROUTES.updateTask.body);
    await expire(reg);
    const s = await reg.tasks.get(id);
    if (!s) throw notFound('task');
    if (upd.state === 'assigned') throw forbidden("a task becomes assigned only through the registry's claim path: the heartbeat of an agent that may take it");
    // Only the current holder (the peer whose heartbeat claimed it) completes or fails a task.
    const holder = s.holderPeer !== '' && s.holderPeer === p.peerId;
    const holdsNow = holder && s.task.state === 'assigned';
    // A holder whose lease ran out (it stopped heartbeating) lost the task: its late update is
    // refused and changes nothing, whatever became of the task since.
    if (!holdsNow) for (const h of s.formerHolders) if (h.peer_id === p.peerId) throw leaseLost(reg, s.task, h.agent_id);
    // Its submitter or an admin may cancel it (failed), never complete it.
    const cancels = upd.state === 'failed' && (p.role === 'admin' || s.owner === p.peerId);
    if (!holder && !cancels) {
      if (!maySee(p, s)) throw notFound('task');
      throw forbidden(
        `only the task's current holder may set it ${upd.state}${upd.state === 'failed' ? '' : '; its submitter or an admin may only cancel it (failed)'}`,
      );
    }
    if (!NEXT[s.task.state].includes(upd.state)) throw conflict(`task is ${s.task.state}; it cannot become ${upd.state}`);
    // Guarded by state and hand-out count: a re-queue (and a new claim) since the read refuses it.
    const updated = await reg.tasks.update(id, [s.task.state], upd.state, upd.result, upd.error, now(), s.task.attempts);
    if (!updated) throw conflict('task changed meanwhile; read it again');
    reg.bus.publish({ type: 'tasks', data: updated.task });
    return c.json({ status: 'ok', task: updated.task });
  });

  /** A streamed piece from the agent holding the task (its current holder only). */
  app.post(ROUTES.taskChunk.path, async (c) => {
    const p = c.get('principal');
    const id = c.req.param('id');
    if (!Id.safeParse(id).success) throw badRequest('task id is not a valid id');
    const { text } = await readJson(c, ROUTES.taskChunk.body);
    const s = await reg.tasks.get(id);
    if (!s || !maySee(p, s)) throw notFound('task');
    if (s.holderPeer !== p.peerId) throw forbidden('only the peer holding the task streams its answer');
    if (s.task.state !== 'assigned') throw conflict(`task is ${s.task.state}; chunks are for a task being worked on`);
    reg.taskChunks.emit('chunk', id, text);
    // The A2A or MCP caller waiting for it may be on another instance.
    await reg.hub.cluster?.publish({ kind: 'chunk', task: id, text });
    return c.json({ status: 'ok' });
  });

  app.get(ROUTES.topology.path, async (c) => c.json(await reg.topology()));
  return app;
}

function leaseLost(reg: RegistryState, task: Task, agentId: string): ApiError {
  const fate =
    task.state === 'assigned'
      ? `re-assigned to agent ${task.assigned_agent_id}`
      : task.state === 'pending'
        ? 're-queued for another agent'
        : task.state === 'completed'
          ? 'completed by another agent'
          : `failed (${task.error})`;
  return new ApiError(
    409,
    'lease_lost',
    `task ${task.id} is no longer yours: agent ${agentId} stopped heartbeating while holding it ` +
      `(TASK_LEASE_S ${reg.cfg.taskLeaseS} s), and the task was ${fate}; this update was not applied`,
  );
}

/** Per registry instance: leases were extended once after start (see TaskStore.graceLeases). */
const graced = new WeakMap<RegistryState, Promise<void>>();

function grace(reg: RegistryState): Promise<void> {
  let done = graced.get(reg);
  if (!done) {
    done = reg.tasks.graceLeases(now(), reg.cfg.taskLeaseS).then(
      (n) => {
        if (n)
          log.info(
            `tasks: ${n} held task(s) get a fresh ${reg.cfg.taskLeaseS} s lease after the start (their agents could not heartbeat while no registry was up)`,
          );
      },
      (e: unknown) => {
        graced.delete(reg);
        throw e;
      },
    );
    graced.set(reg, done);
  }
  return done;
}

/**
 * The sweep (the timer, and task reads): TTL expiry and lease expiry in one atomic UPDATE; every
 * changed task is published as a `tasks` event (a re-queued one as `pending`, which makes the
 * sidecars with that skill heartbeat at once and claim it).
 */
async function expire(reg: RegistryState): Promise<void> {
  await grace(reg);
  for (const task of await reg.tasks.expire(now(), reg.cfg.taskMaxAttempts)) {
    if (task.state === 'pending') {
      log.info(
        `task ${task.id} (${task.skill || task.target_agent_id}) re-queued: its agent stopped heartbeating for ${reg.cfg.taskLeaseS} s (handed out ${task.attempts ?? 0} of ${reg.cfg.taskMaxAttempts} times)`,
      );
    } else if (task.error !== 'TTL expired') {
      log.warn(`task ${task.id} (${task.skill || task.target_agent_id}) failed: ${task.error}`);
    }
    reg.bus.publish({ type: 'tasks', data: task });
  }
}
export { expire as expireTasks };
