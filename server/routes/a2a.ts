import { Hono, type Context } from 'hono';
import { Id, ROUTES, skillSpec } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { principalOf, requireAuth } from '../http/auth.ts';
import { ANY_AGENT } from '../interop/a2a-context-id.ts';

function baseUrl(c: Context): string {
  const u = new URL(c.req.url);
  return `${u.protocol}//${u.host}`;
}

/** The SDK-backed parts load on first use: a registry nobody calls over A2A never loads the SDK. */
const cards = () => import('../interop/a2a-card.ts');

/**
 * A2A 1.0 (docs/interop.md): the registry's card at the well-known path (and its 0.3 name as an
 * alias), a card per agent at that agent's own URL, and the JSON-RPC doors those cards name:
 * POST /a2a (any agent with the skill) and POST /a2a/agents/:id (that agent).
 */
export function a2aRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  let door: Promise<{ handle(c: Context<AppEnv>, agentId: string): Promise<Response> }> | undefined;
  const doorOf = () => (door ??= import('../interop/a2a-door.ts').then((m) => m.a2aDoor(reg)));

  const agentCard = async (c: Context<AppEnv>) => {
    const id = c.req.param('id') ?? '';
    if (!Id.safeParse(id).success) throw badRequest('agent id is not a valid id');
    const a = await reg.agents.get(id, now());
    if (!a) throw notFound('agent');
    const { agentCard, cardJson } = await cards();
    return c.json(cardJson(agentCard(a.record, baseUrl(c))));
  };
  app.get(ROUTES.agentCard.path, requireAuth(reg), agentCard);
  app.get('/a2a/agents/:id/.well-known/agent-card.json', requireAuth(reg), agentCard);

  // Public, like every A2A well-known card; skill names only for a caller with a valid token.
  const registryCard = async (c: Context<AppEnv>) => {
    const p = await principalOf(reg, c).catch(() => undefined);
    const { skillsFor } = await import('../interop/run-skill.ts');
    const skills = p ? (await skillsFor(reg, p)).map((s) => skillSpec({ name: s.skill, ...s })) : [];
    const { registryCard, cardJson } = await cards();
    return c.json(cardJson(registryCard(skills, baseUrl(c))));
  };
  app.get('/.well-known/agent-card.json', registryCard);
  app.get('/.well-known/agent.json', registryCard);
  app.get('/a2a/.well-known/agent-card.json', registryCard);

  app.post('/a2a/', requireAuth(reg), async (c) => (await doorOf()).handle(c, ANY_AGENT));
  app.post('/a2a/agents/:id/', requireAuth(reg), async (c) => {
    const id = c.req.param('id');
    if (!Id.safeParse(id).success) throw badRequest('agent id is not a valid id');
    if (!(await reg.agents.get(id, now()))) throw notFound(`agent ${id}`);
    return (await doorOf()).handle(c, id);
  });
  return app;
}
