import { z } from 'zod';
import { Id } from './common.ts';

/**
 * What a skill says about itself (docs/skills.md): its name, what it does, and a JSON Schema for
 * its `args`. Agents announce it in `register_agent`, the registry keeps it beside the plain
 * `capabilities.skills` list (which the Rust and Python agents read), and an LLM agent offers it to
 * its model as a tool. Every part is optional except the name, so a bare skill name stays valid.
 */
export const SKILL_LIMITS = {
  descriptionChars: 1024,
  /** One skill's args schema, as JSON text. */
  schemaChars: 16 * 1024,
  /** Nesting depth of one schema (objects and arrays). */
  schemaDepth: 16,
  /** All the specs of one agent, as JSON text. */
  specsChars: 256 * 1024,
  skillsPerAgent: 256,
} as const;

/** Deepest nesting of objects/arrays in a JSON value; stops counting past `limit`. */
function depthOf(v: unknown, limit: number, d = 0): number {
  if (d > limit || !v || typeof v !== 'object') return d;
  let max = d + 1;
  for (const x of Object.values(v)) max = Math.max(max, depthOf(x, limit, d + 1));
  return max;
}

/**
 * A JSON Schema (2020-12; the subset OpenAI tools and MCP `inputSchema` accept) for a skill's
 * args: an object schema (`type: "object"`), at most 16 KiB as JSON and 16 levels deep.
 * Structure is checked here; the agent SDK also compiles it to validate the args it receives.
 */
export const ArgsSchema = z.record(z.string(), z.unknown()).superRefine((s, ctx) => {
  let text: string;
  try {
    text = JSON.stringify(s);
  } catch {
    return void ctx.addIssue({ code: 'custom', message: 'args_schema must be plain JSON' });
  }
  if (text.length > SKILL_LIMITS.schemaChars) {
    return void ctx.addIssue({ code: 'custom', message: `args_schema is ${text.length} characters as JSON; the limit is ${SKILL_LIMITS.schemaChars}` });
  }
  if (depthOf(s, SKILL_LIMITS.schemaDepth) > SKILL_LIMITS.schemaDepth) {
    return void ctx.addIssue({ code: 'custom', message: `args_schema is nested deeper than ${SKILL_LIMITS.schemaDepth} levels` });
  }
  if (s.type !== 'object')
    ctx.addIssue({ code: 'custom', path: ['type'], message: 'args_schema must describe an object: {"type": "object", "properties": {…}}' });
  const props = s.properties;
  if (
    props !== undefined &&
    (!props || typeof props !== 'object' || Array.isArray(props) || Object.values(props).some((p) => typeof p !== 'object' && typeof p !== 'boolean'))
  ) {
    ctx.addIssue({ code: 'custom', path: ['properties'], message: 'properties must map each argument name to a schema' });
  }
  const req = s.required;
  if (req !== undefined && (!Array.isArray(req) || req.some((r) => typeof r !== 'string'))) {
    ctx.addIssue({ code: 'custom', path: ['required'], message: 'required must be a list of argument names' });
  }
});
export type ArgsSchema = z.infer<typeof ArgsSchema>;

/** A skill as agents announce it, `skill_query` reports it and the registry stores it (other fields are dropped). */
export const SkillSpec = z.object({
  name: Id,
  description: z.string().max(SKILL_LIMITS.descriptionChars).optional(),
  args_schema: ArgsSchema.optional(),
});
export type SkillSpec = z.infer<typeof SkillSpec>;

/** One agent's skill specs: at most 256, 256 KiB as JSON, names unique. */
export const SkillSpecs = z
  .array(SkillSpec)
  .max(SKILL_LIMITS.skillsPerAgent)
  .superRefine((specs, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of specs.entries()) {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `skill "${s.name}" is listed twice` });
      seen.add(s.name);
    }
    const size = JSON.stringify(specs).length;
    if (size > SKILL_LIMITS.specsChars)
      ctx.addIssue({ code: 'custom', message: `the skill specs are ${size} characters as JSON; the limit is ${SKILL_LIMITS.specsChars}` });
  });

/** Only the fields of the contract (a loose input may carry more). */
export function skillSpec(s: string | SkillSpec): SkillSpec {
  if (typeof s === 'string') return { name: s };
  return { name: s.name, ...(s.description && { description: s.description }), ...(s.args_schema && { args_schema: s.args_schema }) };
}

/**
 * An agent that stands for something outside the mesh (docs/interop.md): an MCP server a sidecar
 * mounted, or an external A2A agent it proxies. Announced in `register_agent`, kept in the
 * registry record's capabilities, shown by the dashboard. `source` says where (a command line or URL).
 */
export const BackedBy = z.object({
  protocol: z.enum(['mcp', 'a2a']),
  source: z.string().max(2048),
});
export type BackedBy = z.infer<typeof BackedBy>;
