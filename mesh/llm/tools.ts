import type { ArgsSchema } from '../protocol/index.ts';
import type { ChatTool } from './provider.ts';

/** One skill the LLM agent may use, as `list_skills` reports it: its spec and the agents that have it. */
export interface CatalogSkill {
  skill: string;
  description?: string | undefined;
  args_schema?: ArgsSchema | undefined;
  agents: { agent_id: string; peer_id: string }[];
}

export interface ToolSet {
  tools: ChatTool[];
  /** The skill a tool name stands for (tool names are sanitized skill names). */
  skillOf(toolName: string): string | undefined;
}

/** OpenAI tool names: `^[a-zA-Z0-9_-]{1,64}$`. Skill names may also have `.`, `:`, `@` and be longer. */
function toolName(skill: string, taken: Set<string>): string {
  const base = skill.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base.slice(0, 60)}_${n}`;
  taken.add(name);
  return name;
}

/** The mesh's skills as the model's tools (docs/skills.md, "Mapping to other formats"). */
export function toolSet(catalog: CatalogSkill[]): ToolSet {
  const taken = new Set<string>();
  const byName = new Map<string, string>();
  const tools = catalog.map((c): ChatTool => {
    const name = toolName(c.skill, taken);
    byName.set(name, c.skill);
    const where =
      c.agents
        .slice(0, 3)
        .map((a) => a.agent_id)
        .join(', ') + (c.agents.length > 3 ? ', …' : '');
    return {
      type: 'function',
      function: {
        name,
        description: `${c.description ?? `Mesh skill ${c.skill}.`} (runs on ${where})`.slice(0, 1024),
        parameters: c.args_schema ?? { type: 'object' },
      },
    };
  });
  return { tools, skillOf: (n) => byName.get(n) };
}
