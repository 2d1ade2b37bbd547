import { Hono, type Context } from 'hono';
import { Id, type AgentRecord } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { principalOf, requireAuth } from '../http/auth.ts';

const VERSION = '0.1.0';
const SECURITY = {
  securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'POST /api/token with X-API-Key' } },
  security: [{ bearer: [] }],
};

function baseUrl(c: Context): string {
  const u = new URL(c.req.url);
  return `${u.protocol}//${u.host}`;
}

/** An A2A AgentCard (protocol 0.3 field names) for one registered agent. */
export function agentCard(a: AgentRecord, base: string) {
  const url = `${base}/api/registry/agents/${encodeURIComponent(a.agent_id)}`;
  return {
    protocolVersion: '0.3.0',
    name: a.agent_id,
    description: a.description ?? `chatixia-mesh agent on peer ${a.peer_id}`,
    url,
    preferredTransport: 'HTTP+JSON',
    supportedInterfaces: [{ url: `${base}/api/hub/tasks`, protocolBinding: 'HTTP+JSON', protocolVersion: '0.3' }],
    version: VERSION,
    provider: { organization: 'chatixia-mesh', url: base },
    capabilities: { streaming: false, pushNotifications: false, stateTransitionHistory: false },
    defaultInputModes: ['application/json', 'text/plain'],
    defaultOutputModes: ['application/json', 'text/plain'],
    skills: a.capabilities.skills.map((s) => ({ id: s, name: s, description: `skill "${s}" of ${a.agent_id}`, tags: [s] })),
    ...SECURITY,
    // Where this agent lives in the mesh (not part of A2A; clients ignore unknown fields).
    'x-chatixia': { peer_id: a.peer_id, health: a.health, last_heartbeat: a.last_heartbeat },
  };
}

/** A2A discovery: a card per agent, and the registry's own card at the well-known path. */
export function cardRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get('/api/registry/agents/:id/card', requireAuth(reg), async (c) => {
    const id = c.req.param('id');
    if (!Id.safeParse(id).success) throw badRequest('agent id is not a valid id');
    const a = await reg.agents.get(id, now());
    if (!a) throw notFound('agent');
    return c.json(agentCard(a.record, baseUrl(c)));
  });

  // Public, like every A2A well-known card; skill names only for a caller with a valid token.
  app.get('/.well-known/agent.json', async (c) => {
    let p;
    try {
      p = await principalOf(reg, c);
    } catch {
      p = undefined;
    }
    const skills = new Set<string>();
    if (p) for (const { record } of await reg.agents.list(now())) if (record.health === 'active') record.capabilities.skills.forEach((s) => skills.add(s));
    const base = baseUrl(c);
    return c.json({
      protocolVersion: '0.3.0',
      name: 'chatixia-mesh registry',
      description: 'Control plane of a chatixia-mesh network: routes a skill to an active agent and queues tasks for it.',
      url: `${base}/api/hub/tasks`,
      preferredTransport: 'HTTP+JSON',
      supportedInterfaces: [{ url: `${base}/api/hub/tasks`, protocolBinding: 'HTTP+JSON', protocolVersion: '0.3' }],
      version: VERSION,
      provider: { organization: 'chatixia-mesh', url: base },
      capabilities: { streaming: false, pushNotifications: false, stateTransitionHistory: false },
      defaultInputModes: ['application/json'],
      defaultOutputModes: ['application/json'],
      skills: [...skills].sort().map((s) => ({ id: s, name: s, description: `routed to an active agent with "${s}"`, tags: [s] })),
      ...SECURITY,
    });
  });
  return app;
}
