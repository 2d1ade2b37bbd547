import type { AgentHub } from '../agent-hub.ts';
import { recordId } from '../agent-records.ts';
import { DELEGATE_ARGS, DELEGATE_DESCRIPTION, delegateSkill, type DelegateDeps } from '../delegate.ts';
import { mayCall, skillMatches } from '../identity/acl.ts';
import type { AgentRecord, SkillPolicy } from '../protocol/index.ts';
import type { CatalogSkill } from './tools.ts';

export interface CatalogDeps {
  /** The policy this peer holds (the registry's, from /api/config); undefined = allow all. */
  policy: () => SkillPolicy | undefined;
  /** This peer's role (its token's): the policy decides by peer id and role. */
  role: () => string;
}

/**
 * The skills an agent of this peer may use as tools: skills of named agents that are active in
 * the registry (a peer's own record and its built-ins are plumbing, not tools), that the skill
 * policy lets this peer call (`mayCall`, the rule the receiving peer enforces), that the asking
 * agent's own allow list names, and not the asking agent's own. With the specs its agents
 * announced (docs/skills.md).
 */
export function catalog(
  agents: AgentRecord[],
  me: string,
  deps: CatalogDeps,
  ask: { agent?: string | undefined; allow?: string[] | undefined },
): CatalogSkill[] {
  const policy = deps.policy() ?? {};
  const self = ask.agent ? recordId(ask.agent, me) : undefined;
  const out = new Map<string, CatalogSkill>();
  for (const a of agents) {
    const peer = a.peer_id || a.sidecar_peer_id;
    if (a.health !== 'active' || a.agent_id === peer || a.agent_id === self) continue;
    const specs = new Map((a.capabilities.skill_specs ?? []).map((s) => [s.name, s]));
    for (const skill of a.capabilities.skills) {
      if (ask.allow && !ask.allow.some((p) => skillMatches(p, skill))) continue;
      if (!mayCall(policy, { caller_peer_id: me, caller_role: deps.role(), skill }).allowed) continue;
      const spec = specs.get(skill);
      const c = out.get(skill) ?? { skill, agents: [] };
      c.description ??= spec?.description;
      c.args_schema ??= spec?.args_schema;
      c.agents.push({ agent_id: a.agent_id, peer_id: peer });
      out.set(skill, c);
    }
  }
  return [...out.values()];
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * What an LLM agent needs from the peer it runs on, as built-in skills only this peer's own agents
 * may call: `list_skills` (its tools) and, where the peer has none yet (a tab), `delegate`.
 */
export function registerLlmSupport(hub: AgentHub, d: DelegateDeps & CatalogDeps, opts: { delegate: boolean }): void {
  hub.registerSkill(
    'list_skills',
    'Skills this peer may call on active agents, with their specs: {allow?: [pattern]} -> [{skill, description, args_schema, agents}].',
    async (args, ctx) => {
      const allow = obj(args).allow;
      return catalog(await d.registry.listAgents(), d.mesh.peerId, d, {
        agent: ctx.sourceAgent,
        allow: Array.isArray(allow) ? allow.filter((x): x is string => typeof x === 'string') : undefined,
      });
    },
    { localOnly: true, argsSchema: { type: 'object', properties: { allow: { type: 'array', items: { type: 'string' } } } } },
  );
  if (opts.delegate) hub.registerSkill('delegate', DELEGATE_DESCRIPTION, delegateSkill(d), { localOnly: true, argsSchema: DELEGATE_ARGS });
}
