import { Hono } from 'hono';
import { AgentRegistration, Id, type OkResponse } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { readJson } from '../http/body.ts';
import { ApiError, badRequest, forbidden, notFound } from '../http/errors.ts';
import { requireAuth } from '../http/auth.ts';
import type { Principal } from '../auth/tokens.ts';
import type { StoredAgent } from '../storage/agents.ts';

/** Self = the caller registered the agent, or the agent lives on the caller's peer. Admin may do anything. */
export function mayManage(p: Principal, a: StoredAgent | undefined): boolean {
  return !a || p.role === 'admin' || a.owner === p.peerId || a.record.peer_id === p.peerId;
}

/**
 * The peer an agent is said to live on. An agent key speaks for its own peer only, so it cannot
 * make the registry route work (or report links) to someone else's peer; an admin may name any.
 */
export function claimedPeer(p: Principal, ...claims: (string | undefined)[]): string {
  const claimed = claims.find((c) => c);
  if (!claimed) return p.peerId;
  if (p.role !== 'admin' && claimed !== p.peerId) throw forbidden(`you are peer ${p.peerId}; agents you register live on your peer, not on ${claimed}`);
  return claimed;
}

function agentIdParam(raw: string): string {
  if (!Id.safeParse(raw).success) throw badRequest('agent id is not a valid id');
  return raw;
}

export function agentRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.use('/api/registry/*', requireAuth(reg));

  app.post('/api/registry/agents', async (c) => {
    const p = c.get('principal');
    const body = await readJson(c, AgentRegistration);
    const t = now();
    const existing = await reg.agents.get(body.agent_id, t);
    if (!mayManage(p, existing)) throw forbidden(`agent ${body.agent_id} belongs to another peer`);
    const peerId = claimedPeer(p, body.peer_id, body.sidecar_peer_id);
    const { peer_id: _ignored, ...info } = body;
    const stored = await reg.agents.upsert({ ...info, sidecar_peer_id: info.sidecar_peer_id || peerId }, peerId, existing?.owner ?? p.peerId, t);
    reg.agentsChanged();
    return c.json({ status: 'ok', agent: stored.record });
  });

  app.get('/api/registry/agents', async (c) => c.json((await reg.agents.list(now())).map((a) => a.record)));

  app.get('/api/registry/agents/:id', async (c) => {
    const a = await reg.agents.get(agentIdParam(c.req.param('id')), now());
    if (!a) throw notFound('agent');
    return c.json(a.record);
  });

  app.delete('/api/registry/agents/:id', async (c) => {
    const id = agentIdParam(c.req.param('id'));
    const a = await reg.agents.get(id, now());
    if (!a) throw notFound('agent');
    if (!mayManage(c.get('principal'), a)) throw forbidden('only the agent itself or an admin may delete it');
    await reg.agents.delete(id);
    reg.agentsChanged();
    return c.json({ status: 'ok' } satisfies OkResponse);
  });

  app.get('/api/registry/route', async (c) => {
    const skill = c.req.query('skill') ?? '';
    if (!skill || skill.length > 128) throw badRequest('?skill= is required (1-128 characters)');
    const a = await reg.agents.route(skill, now());
    if (!a) throw new ApiError(404, 'no_agent', `no active agent has the skill "${skill}"`);
    return c.json(a.record);
  });
  return app;
}
