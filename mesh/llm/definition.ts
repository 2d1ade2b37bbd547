import { z } from 'zod';
import { Id, describe } from '../protocol/index.ts';

/**
 * An LLM agent's definition: the same object in a tab (IndexedDB, from the "+ LLM agent" form) and
 * on a Pi (a YAML or JSON file run by `chatixia-sidecar agent run`). The API key is never part of
 * it: the tab keeps it in IndexedDB beside the definition, the Pi reads it from the environment or
 * a 0600 file named here (docs/llm-agents.md).
 */
export const PROVIDER_KINDS = ['openai', 'azure', 'ollama', 'compatible', 'gateway'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** What each kind defaults to. `gateway`: another peer's agent calls the provider for us (a skill). */
export const PROVIDER_DEFAULTS: Record<ProviderKind, { baseUrl?: string; keyEnv?: string; needsKey: boolean }> = {
  openai: { baseUrl: 'https://api.openai.com/v1', keyEnv: 'OPENAI_API_KEY', needsKey: true },
  azure: { keyEnv: 'AZURE_OPENAI_API_KEY', needsKey: true },
  ollama: { baseUrl: 'http://localhost:11434/v1', needsKey: false },
  compatible: { needsKey: false },
  gateway: { needsKey: false },
};

const SkillPattern = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:@-]+\*?$|^\*$/, 'a skill name, or a prefix ending in *');

export const ProviderConfig = z
  .object({
    kind: z.enum(PROVIDER_KINDS).default('compatible'),
    /** OpenAI-compatible base URL (…/v1); defaults per kind. */
    base_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    model: z.string().min(1).max(256),
    /** Azure's `api-version` query parameter (deployment URLs); not needed with Azure's /openai/v1 URL. */
    api_version: z.string().max(64).optional(),
    /** On a Pi: environment variable holding the key (default per kind, e.g. OPENAI_API_KEY). */
    api_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .max(128)
      .optional(),
    /** On a Pi: a file holding the key; refused unless only its owner can read it (0600/0400). */
    api_key_file: z.string().min(1).max(4096).optional(),
    /** kind `gateway`: the skill that calls the provider for us (another peer's `serve_as_gateway`). */
    gateway_skill: Id.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.kind === 'gateway' && !p.gateway_skill)
      ctx.addIssue({ code: 'custom', path: ['gateway_skill'], message: 'a gateway provider names the skill that serves it (gateway_skill)' });
    if ((p.kind === 'azure' || p.kind === 'compatible') && !p.base_url)
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: `a ${p.kind} provider needs base_url` });
  });
export type ProviderConfig = z.infer<typeof ProviderConfig>;

export const LlmAgentDefinition = z.object({
  name: Id,
  description: z.string().max(1024).optional(),
  provider: ProviderConfig,
  system_prompt: z.string().max(32_000).default('You are a helpful agent in a mesh of agents. Use the tools when they help, and say which one you used.'),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
  /** The skills it may use as tools (names or `prefix*`); absent: every skill the policy allows; []: none. */
  skills: z.array(SkillPattern).max(256).optional(),
  /** Model → tools → model rounds in one answer, at most. */
  max_tool_rounds: z.number().int().min(0).max(32).default(6),
  /** Seconds without any data from the provider before the turn fails (a stalled stream). */
  timeout_s: z.number().min(1).max(3600).default(60),
  /** Conversation memory per chat, kept on the device that runs the agent. */
  memory: z
    .object({
      max_messages: z.number().int().min(0).max(1000).default(40),
      max_chats: z.number().int().min(1).max(10_000).default(100),
    })
    .default({ max_messages: 40, max_chats: 100 }),
  /** Also answer as this skill (`{text}` → the answer, streamed): other agents can delegate to it. */
  skill: Id.optional(),
  /** Serve this provider to other peers as a skill (a tab whose browser may not call the provider). */
  serve_as_gateway: Id.optional(),
});
export type LlmAgentDefinition = z.infer<typeof LlmAgentDefinition>;
export type LlmAgentDefinitionInput = z.input<typeof LlmAgentDefinition>;

/** Validates a definition; throws one readable line naming the field. */
export function parseDefinition(input: unknown): LlmAgentDefinition {
  const r = LlmAgentDefinition.safeParse(input);
  if (!r.success) throw new Error(`invalid LLM agent definition: ${describe(r.error)}`);
  return r.data;
}

export function baseUrlOf(p: ProviderConfig): string {
  return (p.base_url ?? PROVIDER_DEFAULTS[p.kind].baseUrl ?? '').replace(/\/+$/, '');
}
