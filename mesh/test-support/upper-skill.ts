/**
 * The tests' one stand-in skill: `upper` upper-cases `{text}`. Tests run it on a sidecar's agent
 * (AgentOptions.skills), offer it to LLMs as a tool, or send its spec to the registry.
 */
import type { SkillCall, SkillDefinition } from '../agent/client.ts';
import type { SkillSpec } from '../protocol/index.ts';

export const UPPER_ARGS_SCHEMA = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };

/** What the agent tells others: the spec a register_agent line or a registry record carries. */
export const UPPER_SPEC = { name: 'upper', description: 'Upper-cases a text', args_schema: UPPER_ARGS_SCHEMA } satisfies SkillSpec;

/** The skill for an agent's `skills`; `onCall` sees each call's args and caller (tests record who asked). */
export function upperSkill(onCall?: (args: { text: string }, call: SkillCall) => void): SkillDefinition {
  return {
    description: UPPER_SPEC.description,
    args_schema: UPPER_ARGS_SCHEMA,
    handler: (args: { text: string }, call) => {
      onCall?.(args, call);
      return args.text.toUpperCase();
    },
  };
}
