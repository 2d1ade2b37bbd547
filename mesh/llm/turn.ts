import type { ToolEvent } from '../protocol/index.ts';
import type { Tier } from '../delegate.ts';
import { explain, LlmError, type ChatMessage, type ChatProvider, type ChatRequest } from './provider.ts';
import type { ToolSet } from './tools.ts';

/** What running a tool gave: the skill's result and where it ran (a DelegateResult). */
export interface ToolRun {
  result: unknown;
  tier?: Tier | undefined;
  peer_id?: string | undefined;
  agent_id?: string | undefined;
}

export interface TurnOptions {
  provider: ChatProvider;
  tools: ToolSet;
  /** Runs a skill for a tool call (through `delegate`); rejects with the skill's error. */
  callTool(skill: string, args: unknown, signal: AbortSignal): Promise<ToolRun>;
  temperature?: number | undefined;
  max_tokens?: number | undefined;
  /** Rounds of tool calls before the model must answer without tools. */
  maxToolRounds: number;
  /** Silence from the provider (before the first byte or between chunks) that fails the turn. */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

export type TurnPiece = string | { tool: ToolEvent };

/** Longest tool result handed back to the model (characters of JSON). */
const TOOL_RESULT_CHARS = 32 * 1024;
const short = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…` : s);
/** Results go to the model (and the chat) as JSON: a string result keeps its quotes. */
const json = (v: unknown) => JSON.stringify(v ?? null) ?? 'null';

/**
 * One answer of an LLM agent: model → tool calls (run on the mesh) → model …, at most
 * `maxToolRounds` rounds of tools, streaming text and tool events as they happen. `messages` is
 * the conversation so far (system prompt, memory, the new user message); what the turn adds
 * (assistant and tool messages) is pushed onto `added`, for the caller's memory.
 */
export async function* runTurn(o: TurnOptions, messages: ChatMessage[], added: ChatMessage[]): AsyncGenerator<TurnPiece> {
  for (let round = 0; ; round++) {
    const offer = round < o.maxToolRounds && o.tools.tools.length > 0;
    const req: ChatRequest = {
      messages: [...messages, ...added],
      ...(offer && { tools: o.tools.tools }),
      ...(o.temperature !== undefined && { temperature: o.temperature }),
      ...(o.max_tokens !== undefined && { max_tokens: o.max_tokens }),
    };
    let text = '';
    const calls: { id: string; name: string; args: string }[] = [];
    for await (const chunk of idle(o.provider, req, o.signal, o.idleTimeoutMs)) {
      const delta = chunk.choices?.[0]?.delta;
      if (!delta) continue;
      if (delta.content) {
        text += delta.content;
        yield delta.content;
      }
      for (const t of delta.tool_calls ?? []) {
        const c = (calls[t.index] ??= { id: '', name: '', args: '' });
        if (t.id) c.id = t.id;
        if (t.function?.name) c.name += t.function.name;
        if (t.function?.arguments) c.args += t.function.arguments;
      }
    }
    const wanted = offer ? calls.filter(Boolean) : [];
    if (wanted.length === 0) {
      added.push({ role: 'assistant', content: text });
      return;
    }
    added.push({
      role: 'assistant',
      content: text || null,
      tool_calls: wanted.map((c, i) => ({
        id: c.id || `call_${round}_${i}`,
        type: 'function' as const,
        function: { name: c.name, arguments: c.args || '{}' },
      })),
    });
    for (const [i, c] of wanted.entries()) {
      const callId = c.id || `call_${round}_${i}`;
      const skill = o.tools.skillOf(c.name);
      const event: ToolEvent = { call_id: callId, skill: skill ?? c.name, state: 'running', args: short(c.args || '{}') };
      let content: string;
      if (!skill) {
        content = `error: there is no tool named ${c.name}`;
        yield { tool: { ...event, state: 'failed', error: content } };
      } else {
        let args: unknown;
        try {
          args = JSON.parse(c.args || '{}');
        } catch (err) {
          args = undefined;
          content = `error: the arguments were not valid JSON (${(err as Error).message})`;
          yield { tool: { ...event, state: 'failed', error: content } };
        }
        if (args !== undefined) {
          yield { tool: event };
          const t0 = Date.now();
          try {
            const r = await o.callTool(skill, args, o.signal);
            content = short(json(r.result), TOOL_RESULT_CHARS);
            yield {
              tool: {
                ...event,
                state: 'done',
                ms: Date.now() - t0,
                result: short(json(r.result)),
                ...(r.tier && { tier: r.tier }),
                ...(r.peer_id && { peer_id: r.peer_id }),
                ...(r.agent_id && { agent_id: r.agent_id }),
              },
            };
          } catch (err) {
            if (o.signal.aborted) throw explain(err, o.provider.label, o.signal);
            content = `error: ${(err as Error).message}`;
            yield { tool: { ...event, state: 'failed', ms: Date.now() - t0, error: short((err as Error).message, 1000) } };
          }
        }
      }
      added.push({ role: 'tool', tool_call_id: callId, content: content! });
    }
  }
}

/** The provider's stream, failed with `timeout` when nothing arrives for `ms`, stopped by `signal`. */
async function* idle(provider: ChatProvider, req: ChatRequest, signal: AbortSignal, ms: number) {
  if (signal.aborted) throw explain(signal.reason, provider.label, signal);
  const ac = new AbortController();
  const stop = () => ac.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(new LlmError('timeout', `no data from ${provider.label} for ${Math.round(ms / 1000)} s; the answer stopped`)), ms);
  };
  try {
    arm();
    for await (const chunk of provider.stream(req, ac.signal, arm)) {
      arm();
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}
