import { z } from 'zod';
import { ArgsSchema, describe, payloadOf, skillSpec, type MeshMessage, type ToolEvent } from '../protocol/index.ts';
import type { SkillCall, SkillInfo } from '../types.ts';
import { AgentError } from './agent-error.ts';

// biome-ignore lint/suspicious/noExplicitAny: a handler declares its own args type (checked by its args schema at run time)
export type SkillHandler = (args: any, call: SkillCall) => unknown | Promise<unknown>;
/** A skill with what it tells others about itself (docs/skills.md): offered to LLMs as a tool. */
export interface SkillDefinition {
  description?: string;
  /** JSON Schema of the args (an object schema); args that do not match are refused before the handler runs. */
  args_schema?: Record<string, unknown>;
  handler: SkillHandler;
}
/** A piece of a streamed answer: text, or a step shown to the requester (an LLM agent's tool call). */
export type PromptPiece = string | { tool: ToolEvent };
export type PromptHandler = (text: string, call: SkillCall & { sessionId?: string | undefined }) => string | Promise<string> | AsyncIterable<PromptPiece>;

/** What the runner needs of the client. */
export interface RunnerHost {
  /** The agent's name (undefined: never registered). */
  name(): string | undefined;
  /** Sends a reply to a peer (the client's `send`: acknowledged when the client asks for acks). */
  send(to: string, msg: MeshMessage): void;
  /** A request this agent does not answer: the client passes it on as a `message` event. */
  unhandled(msg: MeshMessage, from: string): void;
}

/**
 * The agent's side of requests to it: its skills (args checked by their schema) and its prompt
 * handler, at most `maxConcurrent` runs at once, each stoppable with `cancel` by the peer that asked.
 */
export class SkillRunner {
  readonly #host: RunnerHost;
  readonly #skills = new Map<string, { info: SkillInfo; handler: SkillHandler; args?: z.ZodType | undefined }>();
  #onPrompt: PromptHandler | undefined;
  readonly #maxConcurrent: number;
  #running = 0;
  /** `${fromPeer}\0${request_id}` of the skill/prompt runs in progress → their abort (for `cancel`). */
  readonly #runs = new Map<string, AbortController>();

  constructor(host: RunnerHost, maxConcurrent: number) {
    this.#host = host;
    this.#maxConcurrent = maxConcurrent;
  }

  /** Checks the spec as the peer will (a bad schema fails here, not at registration) and compiles the args schema. */
  add(name: string, s: SkillHandler | SkillDefinition): void {
    const def = typeof s === 'function' ? { handler: s } : s;
    let args: z.ZodType | undefined;
    if (def.args_schema) {
      const checked = ArgsSchema.safeParse(def.args_schema);
      if (!checked.success) throw new AgentError('invalid', `skill ${name}: ${describe(checked.error)}`);
      try {
        args = z.fromJSONSchema(def.args_schema as z.core.JSONSchema.JSONSchema);
      } catch (err) {
        throw new AgentError('invalid', `skill ${name}: args_schema is not a usable JSON Schema: ${(err as Error).message}`);
      }
    }
    const info = skillSpec({ name, ...(def.description && { description: def.description }), ...(def.args_schema && { args_schema: def.args_schema }) });
    this.#skills.set(name, { info, handler: def.handler, args });
  }

  /** The skills as the agent announces them. */
  infos(): SkillInfo[] {
    return [...this.#skills.values()].map((s) => s.info);
  }

  setPromptHandler(handler: PromptHandler | undefined): void {
    this.#onPrompt = handler;
  }

  get answersPrompts(): boolean {
    return this.#onPrompt !== undefined;
  }

  /** `cancel` from `from` for its request `requestId`: false when no run of it is in progress here. */
  cancel(from: string, requestId: string): boolean {
    const run = this.#runs.get(`${from}\u0000${requestId}`);
    if (!run) return false;
    run.abort(new AgentError('cancelled', 'the requester cancelled'));
    return true;
  }

  #reply(to: string, req: MeshMessage, type: string, payload: unknown): void {
    const m: MeshMessage = { type, payload };
    if (req.request_id) m.request_id = req.request_id;
    if (req.source_agent) m.target_agent = req.source_agent;
    this.#host.send(to, m);
  }

  async runSkill(msg: MeshMessage, from: string): Promise<void> {
    const p = payloadOf(msg, 'task_request');
    const s = p ? this.#skills.get(p.skill) : undefined;
    if (!p || !s) {
      const why = p ? `has no skill "${p.skill}"` : 'got a task_request without a valid skill name';
      const name = this.#host.name();
      if (name) this.#reply(from, msg, 'task_response', { error: `agent ${name} ${why}` });
      else this.#host.unhandled(msg, from);
      return;
    }
    if (s.args) {
      const ok = s.args.safeParse(p.args ?? {});
      if (!ok.success) return this.#reply(from, msg, 'task_response', { error: `invalid args for skill ${p.skill}: ${describe(ok.error)}` });
    }
    if (!this.#runStarted(from, msg, 'task_response')) return;
    const run = this.#track(from, msg);
    const call: SkillCall = {
      fromPeer: from,
      sourceAgent: msg.source_agent,
      requestId: msg.request_id,
      stream: (text) => this.#reply(from, msg, 'task_stream_chunk', { text, done: false }),
      signal: run.signal,
    };
    try {
      const result = await s.handler(p.args, call);
      this.#reply(from, msg, 'task_response', { result: result === undefined ? null : result });
    } catch (err) {
      this.#reply(from, msg, 'task_response', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.#running--;
      run.end();
    }
  }

  /** An abort the requester can trigger with `cancel` while the run lasts. */
  #track(from: string, msg: MeshMessage): { signal: AbortSignal; end: () => void } {
    const ac = new AbortController();
    const key = msg.request_id ? `${from}\u0000${msg.request_id}` : undefined;
    if (key) this.#runs.set(key, ac);
    return {
      signal: ac.signal,
      end: () => {
        if (key && this.#runs.get(key) === ac) this.#runs.delete(key);
      },
    };
  }

  /** Counts a run in; false (and the requester told `overloaded`) when maxConcurrent are running. */
  #runStarted(from: string, msg: MeshMessage, replyType: string): boolean {
    if (this.#running >= this.#maxConcurrent) {
      const error = `agent ${this.#host.name() ?? ''} is overloaded (${this.#running} runs in progress)`.replace('  ', ' ');
      this.#reply(from, msg, replyType, replyType === 'agent_response' ? { text: '', error } : { error });
      return false;
    }
    this.#running++;
    return true;
  }

  /** Only with a prompt handler set (see `answersPrompts`). */
  async runPrompt(msg: MeshMessage, from: string): Promise<void> {
    const p = payloadOf(msg, 'agent_prompt');
    if (!p) return this.#reply(from, msg, 'agent_response', { text: '', error: 'an agent_prompt needs a text' });
    if (!this.#runStarted(from, msg, 'agent_response')) return;
    const run = this.#track(from, msg);
    const call = {
      fromPeer: from,
      sourceAgent: msg.source_agent,
      requestId: msg.request_id,
      sessionId: p.session_id,
      stream: (text: string) => this.#reply(from, msg, 'agent_stream_chunk', { text, done: false }),
      signal: run.signal,
    };
    let full = '';
    try {
      const out = await this.#onPrompt!(p.text, call);
      if (typeof out === 'string') return this.#reply(from, msg, 'agent_response', { text: out });
      for await (const piece of out) {
        if (typeof piece === 'string') {
          full += piece;
          call.stream(piece);
        } else {
          this.#reply(from, msg, 'agent_stream_chunk', { text: '', done: false, tool: piece.tool });
        }
      }
      this.#reply(from, msg, 'agent_response', { text: full });
    } catch (err) {
      // What was streamed stays the answer so far; the error says why it stopped.
      this.#reply(from, msg, 'agent_response', { text: full, error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.#running--;
      run.end();
    }
  }
}
