import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import { Id, agentPeer, type OkResponse } from '../../mesh/protocol/index.ts';
import { mayProvide } from '../../mesh/identity/acl.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { readJson } from '../http/body.ts';
import { ApiError, badRequest, forbidden, notFound } from '../http/errors.ts';
import { requireAuth } from '../http/auth.ts';
import type { Principal } from '../auth/tokens.ts';
import type { StoredAgent } from '../storage/agents.ts';

/**
 * Who may change or delete an agent record (docs/trust.md): an admin; the peer its id names
 * (`name@peer`, or the peer's own record `peer`); for a legacy id without `@` naming no peer, the
 * peer that registered it first.
 */
export function mayManage(p: Principal, agentId: string, a: StoredAgent | undefined): boolean {
  if (p.role === 'admin' || agentPeer(agentId) === p.peerId) return true;
  if (agentId.includes('@')) return false;
  return !a || a.owner === p.peerId;
}

/**
 * Refuses an agent id that is not the caller's own: `x@other` is other's; a bare id that is
 * another principal's peer id is that peer's own record. Answers the record's owner.
 */
export async function ownAgentId(reg: RegistryState, p: Principal, agentId: string, existing: StoredAgent | undefined): Promise<string> {
  const peer = agentPeer(agentId);
  if (!mayManage(p, agentId, existing)) {
    throw forbidden(
      agentId.includes('@')
        ? `agent id ${agentId} belongs to peer ${peer}; your agents are named <name>@${p.peerId}`
        : `agent ${agentId} belongs to another peer; name yours <name>@${p.peerId}`,
    );
  }
  if (p.role !== 'admin' && !existing && !agentId.includes('@') && peer !== p.peerId && (await isPeerId(reg, peer))) {
    throw forbidden(`${agentId} is the id of another peer; name your agents <name>@${p.peerId}`);
  }
  return agentId.includes('@') || peer === p.peerId ? peer : (existing?.owner ?? p.peerId);
}

/** A peer id some principal holds: a key, a static key, a paired device, or a peer connected now. */
async function isPeerId(reg: RegistryState, id: string): Promise<boolean> {
  return reg.auth.staticPeerIds().has(id) || reg.hub.get(id) !== undefined || (await reg.keys.hasPeer(id)) || (await reg.isDevicePeer(id));
}

/**
 * The skills an agent on `peerId` may advertise: those whose policy rule names other `providers`
 * are dropped (never routed to it, its tasks never handed to it) and answered as `refused_skills`.
 */
export function providedSkills(reg: RegistryState, peerId: string, skills: string[]): { skills: string[]; refused: string[] } {
  const refused = skills.filter((s) => !mayProvide(reg.skillPolicy, peerId, s));
  return refused.length ? { skills: skills.filter((s) => !refused.includes(s)), refused } : { skills, refused };
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

  app.post(ROUTES.registerAgent.path, async (c) => {
    const p = c.get('principal');
    const body = await readJson(c, ROUTES.registerAgent.body);
    const t = now();
    const existing = await reg.agents.get(body.agent_id, t);
    const owner = await ownAgentId(reg, p, body.agent_id, existing);
    const peerId = claimedPeer(p, body.peer_id, body.sidecar_peer_id);
    const { peer_id: _ignored, ...info } = body;
    const { skills, refused } = providedSkills(reg, peerId, info.capabilities.skills);
    const capabilities = refused.length
      ? { ...info.capabilities, skills, skill_specs: info.capabilities.skill_specs?.filter((s) => skills.includes(s.name)) }
      : info.capabilities;
    const stored = await reg.agents.upsert({ ...info, capabilities, sidecar_peer_id: info.sidecar_peer_id || peerId }, peerId, owner, t);
    reg.agentsChanged();
    return c.json({ status: 'ok', agent: stored.record, ...(refused.length && { refused_skills: refused }) });
  });

  app.get(ROUTES.listAgents.path, async (c) => c.json((await reg.agents.list(now())).map((a) => a.record)));

  app.get(ROUTES.getAgent.path, async (c) => {
    const a = await reg.agents.get(agentIdParam(c.req.param('id')), now());
    if (!a) throw notFound('agent');
    return c.json(a.record);
  });

  app.delete(ROUTES.deleteAgent.path, async (c) => {
    const id = agentIdParam(c.req.param('id'));
    const a = await reg.agents.get(id, now());
    if (!a) throw notFound('agent');
    if (!mayManage(c.get('principal'), id, a)) throw forbidden("only the agent's own peer or an admin may delete it");
    await reg.agents.delete(id);
    reg.agentsChanged();
    return c.json({ status: 'ok' } satisfies OkResponse);
  });

  app.get(ROUTES.routeSkill.path, async (c) => {
    const skill = c.req.query('skill') ?? '';
    if (!skill || skill.length > 128) throw badRequest('?skill= is required (1-128 characters)');
    // A record advertised before a `providers` rule existed is passed over (each try moves it back in the round robin).
    for (let tries = 0; tries < 16; tries++) {
      const a = await reg.agents.route(skill, now());
      if (!a) break;
      if (mayProvide(reg.skillPolicy, a.record.peer_id, skill)) return c.json(a.record);
    }
    throw new ApiError(404, 'no_agent', `no active agent has the skill "${skill}"`);
  });
  return app;
}
