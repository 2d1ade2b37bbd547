/**
 * An external A2A agent mounted on this sidecar (docs/interop.md): the official @a2a-js/sdk client
 * reads its card (through the SSRF guard) and an agent named after it joins the local hub with one
 * skill per card skill, `<name>.<skill id>`. A call sends an A2A message (streaming when the card
 * says so: pieces go to the requester as they come); a cancel becomes CancelTask.
 */
import { Role, TaskState, type Message, type Part, type StreamResponse } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory } from '@a2a-js/sdk/client';
import { randomUUID } from 'node:crypto';
import type { SkillDefinition } from '../mesh/agent/client.ts';
import type { Logger } from '../mesh/types.ts';
import { Id } from '../mesh/protocol/index.ts';
import { guardedFetch } from './url-guard.ts';
import { connectAgent } from './agent-socket.ts';
import type { Mounted } from './mount-mcp.ts';

const CALL_TIMEOUT_MS = 10 * 60_000;
const FAILED = new Set([TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_REJECTED, TaskState.TASK_STATE_CANCELED]);
const ARGS = {
  type: 'object',
  properties: {
    text: { type: 'string', description: 'what to ask the agent' },
    data: { type: 'object', description: 'structured input, sent as a data part' },
  },
};

const textOf = (parts: Part[]) => parts.flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('');
const dataOf = (parts: Part[]) => parts.flatMap((p) => (p.content?.$case === 'data' ? [p.content.value as unknown] : []));

function message(args: { text?: unknown; data?: unknown }, skill: string): Message {
  const parts: Part[] = [];
  if (typeof args.text === 'string') parts.push({ content: { $case: 'text', value: args.text }, metadata: undefined, filename: '', mediaType: 'text/plain' });
  if (args.data !== undefined) parts.push({ content: { $case: 'data', value: args.data }, metadata: undefined, filename: '', mediaType: 'application/json' });
  if (!parts.length) throw new Error('give text or data');
  return { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts, metadata: { skill }, extensions: [], referenceTaskIds: [] };
}

/** Folds the answer's events: the task id, pieces as they come, the final text/data, a failure. */
class Answer {
  taskId = '';
  readonly artifacts = new Map<string, Part[]>();
  reply: Part[] = [];
  failure = '';
  readonly #onText: (t: string) => void;
  constructor(onText: (t: string) => void) {
    this.#onText = onText;
  }
  add(ev: StreamResponse): void {
    const p = ev.payload;
    if (!p) return;
    if (p.$case === 'task') {
      this.taskId = p.value.id;
      for (const a of p.value.artifacts) this.artifacts.set(a.artifactId, a.parts);
      this.#status(p.value.status?.state, p.value.status?.message?.parts ?? []);
    } else if (p.$case === 'message') {
      this.reply = p.value.parts;
    } else if (p.$case === 'statusUpdate') {
      this.taskId ||= p.value.taskId;
      this.#status(p.value.status?.state, p.value.status?.message?.parts ?? []);
    } else if (p.$case === 'artifactUpdate' && p.value.artifact) {
      const { artifactId, parts } = p.value.artifact;
      this.artifacts.set(artifactId, [...(p.value.append ? (this.artifacts.get(artifactId) ?? []) : []), ...parts]);
      const t = textOf(parts);
      if (t) this.#onText(t);
    }
  }
  #status(state: TaskState | undefined, parts: Part[]): void {
    if (state !== undefined && FAILED.has(state)) this.failure = textOf(parts) || TaskState[state];
  }
  result(): unknown {
    if (this.failure) throw new Error(this.failure);
    const parts = this.artifacts.size ? [...this.artifacts.values()].flat() : this.reply;
    const data = dataOf(parts);
    const text = textOf(parts);
    return data.length ? { text, data } : text;
  }
}

export async function mountA2aAgent(
  name: string,
  cfg: { url: string; headers: Record<string, string> },
  allow: readonly string[],
  socketPath: string,
  log: Logger,
): Promise<Mounted> {
  const guarded = guardedFetch(allow, `A2A agent ${name}`);
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [k, v] of Object.entries(cfg.headers)) headers.set(k, v);
    return guarded(input, { ...init, headers });
  };
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
  const client = await factory.createFromUrl(cfg.url);
  const card = await client.getAgentCard();
  const streaming = card.capabilities?.streaming === true;
  const skills: Record<string, SkillDefinition> = {};
  for (const s of card.skills) {
    const skill = `${name}.${s.id.replace(/[^\w.:-]/g, '_')}`;
    if (!Id.safeParse(skill).success) {
      log.warn(`[a2a ${name}] skill "${s.id}" skipped: "${skill}" is not a valid skill name`);
      continue;
    }
    skills[skill] = {
      description: `${s.description || s.name} (A2A agent ${card.name})`.slice(0, 1024),
      args_schema: ARGS,
      handler: async (args: { text?: unknown; data?: unknown }, call) => {
        const answer = new Answer((t) => call.stream(t));
        const params = { tenant: '', message: message(args ?? {}, s.id), configuration: undefined, metadata: undefined };
        const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
        const signal = AbortSignal.any([call.signal, timeout]);
        const cancel = () => void (answer.taskId && client.cancelTask({ tenant: '', id: answer.taskId, metadata: undefined }).catch(() => {}));
        call.signal.addEventListener('abort', cancel, { once: true });
        try {
          if (streaming) for await (const ev of client.sendMessageStream(params, { signal })) answer.add(ev);
          else {
            const r = await client.sendMessage(params, { signal });
            answer.add({ payload: 'status' in r ? { $case: 'task', value: r } : { $case: 'message', value: r } });
          }
          return answer.result();
        } finally {
          call.signal.removeEventListener('abort', cancel);
        }
      },
    };
  }
  const agent = await connectAgent({ socketPath, name, backedBy: { protocol: 'a2a', source: cfg.url }, skills, registerTimeoutMs: 30_000 });
  log.info(`[a2a ${name}] mounted ${card.name}: ${Object.keys(skills).length} skill(s) as skills of agent ${name}`);
  return { name, skills: Object.keys(skills), close: async () => agent.close() };
}
