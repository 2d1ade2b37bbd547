import { AgentCard, type AgentSkill } from '@a2a-js/sdk';
import type { AgentRecord, SkillSpec } from '../../mesh/protocol/index.ts';
import { VERSION } from '../version.ts';

/** The A2A protocol version every interface of ours speaks. */
export const A2A_VERSION = '1.0';
const MODES = ['text/plain', 'application/json'];

/**
 * Where one agent's A2A JSON-RPC door is: a URL per agent (docs/interop.md says why not `tenant`).
 * It ends with "/" so that a client resolving the card relative to it (`.well-known/agent-card.json`)
 * finds this agent's card.
 */
export const agentA2aUrl = (base: string, agentId: string) => `${base}/a2a/agents/${encodeURIComponent(agentId)}/`;

function skill(s: SkillSpec, where: string): AgentSkill {
  const args = s.args_schema?.properties && typeof s.args_schema.properties === 'object' ? Object.keys(s.args_schema.properties) : [];
  return {
    id: s.name,
    name: s.name,
    description: `${s.description ?? `Skill ${s.name}`} (${where}). Send a data part {"skill": "${s.name}", "args": {${args.map((a) => `"${a}": …`).join(', ')}}}.`,
    tags: ['chatixia-mesh', ...s.name.split(/[.:]/).slice(0, 1)],
    examples: [],
    inputModes: ['application/json'],
    outputModes: MODES,
    securityRequirements: [],
  };
}

function card(o: { name: string; description: string; url: string; base: string; skills: AgentSkill[] }): AgentCard {
  return {
    name: o.name,
    description: o.description,
    supportedInterfaces: [{ url: o.url, protocolBinding: 'JSONRPC', protocolVersion: A2A_VERSION, tenant: '' }],
    provider: { organization: 'chatixia-mesh', url: o.base },
    version: VERSION,
    documentationUrl: undefined,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    // How a client gets the token: POST /api/token with X-API-Key (an API key an admin issued, or a paired device's token).
    securitySchemes: {
      bearer: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: { scheme: 'Bearer', bearerFormat: 'JWT', description: `a JWT from POST ${o.base}/api/token with header X-API-Key` },
        },
      },
    },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }],
    defaultInputModes: MODES,
    defaultOutputModes: MODES,
    skills: o.skills,
    signatures: [],
    iconUrl: undefined,
  };
}

/** The card of one mesh agent: its skills with their specs; its door at its own URL. */
export function agentCard(a: AgentRecord, base: string): AgentCard {
  const specs = new Map((a.capabilities.skill_specs ?? []).map((s) => [s.name, s]));
  const where = a.capabilities.backed_by
    ? `${a.capabilities.backed_by.protocol.toUpperCase()}-backed agent ${a.agent_id}`
    : `agent ${a.agent_id} on peer ${a.peer_id}`;
  return card({
    name: a.agent_id,
    description: `${a.description || `chatixia-mesh agent on peer ${a.peer_id}`}. Plain text goes to its chat (if it has one); a data part {"skill", "args"} runs a skill.`,
    url: agentA2aUrl(base, a.agent_id),
    base,
    skills: a.capabilities.skills.map((s) => skill(specs.get(s) ?? { name: s }, where)),
  });
}

/** The registry's own card: one door that runs a skill on whichever active agent has it (skills only for a caller with a token). */
export function registryCard(skills: SkillSpec[], base: string): AgentCard {
  return card({
    name: 'chatixia-mesh registry',
    description:
      'Runs a skill on an agent of a chatixia-mesh network that has it. Each agent also has its own card at /a2a/agents/<agent id>/.well-known/agent-card.json.',
    url: `${base}/a2a/`,
    base,
    skills: skills.map((s) => skill(s, 'routed to an active agent that has it')),
  });
}

/** A card as it goes on the wire (the protocol's JSON names). */
export function cardJson(c: AgentCard): unknown {
  // The protocol's JSON drops empty lists; `skills` is required even when empty.
  const json = AgentCard.toJSON(c) as Record<string, unknown>;
  return { ...json, skills: json.skills ?? [] };
}
