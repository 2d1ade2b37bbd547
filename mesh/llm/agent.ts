import { AgentClient, type PromptPiece, type SkillCall, type SkillDefinition } from '../agent/client.ts';
import type { AgentTransport } from '../agent/transport.ts';
import { payloadOf, type MeshMessage } from '../protocol/index.ts';
import type { DelegateResult } from '../delegate.ts';
import type { LlmAgentDefinition } from './definition.ts';
import { ChatMemory, type MemoryStore } from './memory.ts';
import { explain, LlmError, openAiProvider, type ChatChunk, type ChatMessage, type ChatProvider, type ChatRequest } from './provider.ts';
import { toolSet, type CatalogSkill } from './tools.ts';
import { runTurn } from './turn.ts';

/**
 * An LLM agent on the agent SDK — the same code in a tab's Web Worker (MessagePort transport) and
 * in a Node process next to a sidecar (Unix socket). It answers `agent_prompt`s (streamed as
 * `agent_stream_chunk`, tool calls shown as chunks with `tool`), keeps a bounded memory per chat,
 * and offers the model the mesh's skills as tools: `list_skills` on its own peer says which ones
 * (active agents, allowed by the skill policy and by the definition), `delegate` on its own peer
 * runs them (local, DataChannel or task queue). A `cancel` from the requester stops the provider.
 */
export interface LlmAgentOptions {
  /** The provider's key (from IndexedDB in a tab, the environment or a 0600 file on a Pi). Never sent anywhere else. */
  apiKey?: string | undefined;
  /** Default: the OpenAI-compatible provider of the definition (or its gateway skill). */
  provider?: ChatProvider;
  registerTimeoutMs?: number;
  /** Where the conversations survive a reload or restart (IndexedDB in a tab, a 0600 file on a Pi); default: only in memory. */
  memoryStore?: MemoryStore;
  /** Problems that do not stop the agent (its saved conversations could not be read or written). */
  warn?: (message: string) => void;
}

/** Longest wait for a tool (a skill on another peer), and for the tool list. */
const TOOL_TIMEOUT_MS = 120_000;
const CATALOG_TIMEOUT_MS = 15_000;

export async function startLlmAgent(transport: AgentTransport, def: LlmAgentDefinition, o: LlmAgentOptions = {}): Promise<AgentClient> {
  const memory = new ChatMemory(def.memory.max_messages, def.memory.max_chats, o.memoryStore, o.warn);
  await memory.load();
  let client: AgentClient;
  const provider = o.provider ?? (def.provider.kind === 'gateway' ? gatewayProvider(() => client, def) : openAiProvider(def.provider, { apiKey: o.apiKey }));

  const tools = async (signal: AbortSignal) => {
    if (def.skills && def.skills.length === 0) return toolSet([]);
    const catalog = (await client.task(
      'list_skills',
      { ...(def.skills && { allow: def.skills }) },
      { timeoutMs: CATALOG_TIMEOUT_MS, signal },
    )) as CatalogSkill[];
    return toolSet(catalog);
  };

  /** One answer: streamed pieces; memory of `chat` updated when it completes. */
  async function* answer(text: string, chat: string | undefined, call: SkillCall): AsyncGenerator<PromptPiece> {
    const history = chat ? memory.get(chat) : [];
    const user: ChatMessage = { role: 'user', content: text };
    const added: ChatMessage[] = [];
    try {
      const set = await tools(call.signal);
      yield* runTurn(
        {
          provider,
          tools: set,
          callTool: async (skill, args, signal) => {
            const r = (await client.task(
              'delegate',
              { skill, args, timeout_ms: TOOL_TIMEOUT_MS },
              { timeoutMs: TOOL_TIMEOUT_MS + 5000, signal },
            )) as DelegateResult;
            return r;
          },
          temperature: def.temperature,
          max_tokens: def.max_tokens,
          maxToolRounds: def.max_tool_rounds,
          idleTimeoutMs: def.timeout_s * 1000,
          signal: call.signal,
        },
        [{ role: 'system', content: def.system_prompt }, ...history, user],
        added,
      );
    } catch (err) {
      throw explain(err, provider.label, call.signal);
    }
    if (chat) memory.commit(chat, [user, ...added]);
  }

  const skills: Record<string, SkillDefinition> = {};
  if (def.skill) {
    skills[def.skill] = {
      description: def.description ?? `Asks the LLM agent ${def.name}`,
      args_schema: { type: 'object', properties: { text: { type: 'string', description: 'what to ask' } }, required: ['text'] },
      handler: async (args: { text: string }, call: SkillCall) => {
        let out = '';
        for await (const piece of answer(args.text, undefined, call)) {
          if (typeof piece !== 'string') continue;
          out += piece;
          call.stream(piece);
        }
        return out;
      },
    };
  }
  if (def.serve_as_gateway) {
    skills[def.serve_as_gateway] = {
      description: `Chat completions from ${provider.label} for agents whose own device may not call it; streams the provider's chunks as JSON.`,
      args_schema: GATEWAY_ARGS,
      handler: async (args: ChatRequest, call: SkillCall) => {
        let n = 0;
        for await (const chunk of provider.stream(args, call.signal)) {
          call.stream(JSON.stringify(chunk));
          n++;
        }
        return { chunks: n };
      },
    };
  }

  client = new AgentClient(transport, {
    name: def.name,
    skills,
    // A chat is one requester's conversation: another peer cannot read it by naming the same session.
    onPrompt: (text, call) => answer(text, `${call.fromPeer}/${call.sourceAgent ?? ''}/${call.sessionId ?? ''}`, call),
  });
  await client.register(o.registerTimeoutMs);
  return client;
}

/** The messages a gateway accepts: the conversation and tools, never a model or a key. */
const GATEWAY_ARGS = {
  type: 'object',
  properties: {
    messages: { type: 'array', items: { type: 'object' }, minItems: 1, maxItems: 2000 },
    tools: { type: 'array', items: { type: 'object' }, maxItems: 512 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    max_tokens: { type: 'integer', minimum: 1 },
  },
  required: ['messages'],
};

/**
 * The provider as a skill on another peer (that peer's `serve_as_gateway`), reached through this
 * peer's `delegate`: the key stays on the gateway's device. Chunks arrive as JSON text.
 */
function gatewayProvider(client: () => AgentClient, def: LlmAgentDefinition): ChatProvider {
  const skill = def.provider.gateway_skill!;
  const label = `gateway skill ${skill}`;
  return {
    label,
    async *stream(req, signal) {
      const queue: ChatChunk[] = [];
      let wake: (() => void) | undefined;
      let end: { error?: Error } | undefined;
      const msg: MeshMessage = { type: 'task_request', payload: { skill: 'delegate', args: { skill, args: req, timeout_ms: def.timeout_s * 1000 * 10 } } };
      client()
        .request('local', msg, {
          timeoutMs: def.timeout_s * 1000 * 10 + 5000,
          signal,
          onChunk: (m) => {
            try {
              queue.push(JSON.parse(payloadOf(m, 'task_stream_chunk')?.text ?? '') as ChatChunk);
            } catch {
              end ??= { error: new LlmError('bad_stream', `${label} sent a chunk that is not JSON`) };
            }
            wake?.();
          },
        })
        .then(
          (r) => {
            const e = payloadOf(r, 'task_response')?.error;
            end ??= e ? { error: new LlmError('provider_error', `${label}: ${e}`) } : {};
            wake?.();
          },
          (err: Error) => {
            end ??= { error: explain(err, label, signal) };
            wake?.();
          },
        );
      let finished = false;
      for (;;) {
        while (queue.length) {
          const c = queue.shift()!;
          if (c.choices?.some((x) => x.finish_reason)) finished = true;
          yield c;
        }
        if (end) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (end.error) throw end.error;
      if (!finished) throw new LlmError('stream_cut', `${label} ended without a finish_reason`);
    },
  };
}
