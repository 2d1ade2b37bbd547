import { Role, type Message, type Part } from '@a2a-js/sdk';
import { randomUUID } from 'node:crypto';
import { PROMPT_SKILL } from '../../mesh/protocol/index.ts';

export class BadMessage extends Error {}

const plain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * What an A2A message asks of a mesh agent (docs/interop.md): a data part `{skill, args}`; or
 * `metadata.skill` with the args as the data part (or `{text}` from the text parts); plain text
 * (no skill named) is a prompt for the addressed agent's chat; a data part alone, for an agent
 * with a single skill, is that skill's args.
 */
export function skillCall(msg: Message, agentSkills: string[] | undefined): { skill: string; args: unknown } {
  const data = msg.parts.flatMap((p) => (p.content?.$case === 'data' ? [p.content.value as unknown] : []));
  const text = msg.parts.flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('\n');
  const named = data.find((d): d is Record<string, unknown> => plain(d) && typeof d.skill === 'string');
  if (named) return { skill: named.skill as string, args: named.args ?? {} };
  const meta = msg.metadata?.skill;
  if (typeof meta === 'string' && meta) return { skill: meta, args: data.length ? data[0] : { text } };
  if (agentSkills && !data.length && text) return { skill: PROMPT_SKILL, args: { text } };
  if (agentSkills?.length === 1 && data.length) return { skill: agentSkills[0]!, args: data[0] };
  throw new BadMessage(
    agentSkills
      ? `name the skill to run: a data part {"skill": "<one of ${agentSkills.join(', ')}>", "args": {…}}, or metadata.skill; plain text goes to the agent's chat`
      : 'name the skill to run: a data part {"skill": "<skill>", "args": {…}}, or metadata.skill (to chat with an agent, send text to its own URL)',
  );
}

export const textPart = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });

/** A skill's result as a part: text stays text, anything else is a data part. */
export const resultPart = (v: unknown): Part =>
  typeof v === 'string' ? textPart(v) : { content: { $case: 'data', value: v ?? null }, metadata: undefined, filename: '', mediaType: 'application/json' };

export function agentMessage(taskId: string, contextId: string, text: string): Message {
  return {
    messageId: randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts: [textPart(text)],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}
