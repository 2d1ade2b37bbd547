import { Emitter } from '../emitter.ts';
import { randomId } from '../ids.ts';
import { z } from 'zod';
import {
  ArgsSchema,
  describe,
  decodePeerEvent,
  isOpenStreamChunk,
  meshErrorOf,
  payloadOf,
  skillSpec,
  type BackedBy,
  type MeshMessage,
  type PeerEvent,
  type ToolEvent,
} from '../protocol/index.ts';
import type { SkillCall, SkillInfo } from '../types.ts';
import type { AgentTransport } from './transport.ts';

export type { SkillCall };
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

export interface AgentOptions {
  /** Registers the agent under this name (needed to get task_requests for its skills routed to it). */
  name?: string;
  skills?: Record<string, SkillHandler | SkillDefinition>;
  onPrompt?: PromptHandler;
  /** The agent stands for an MCP server or an external A2A agent (docs/interop.md); the dashboard marks it. */
  backedBy?: BackedBy;
  /** How long to wait for the peer to confirm registration. */
  registerTimeoutMs?: number;
  /**
   * Ask the peer to acknowledge every `send`/`broadcast` (and the replies of skills/prompts): a
   * message the peer reports as failed, or that is still unconfirmed when the connection to the
   * peer closes (the sidecar crashed), is reported as an `error` event naming its `ack_id` and
   * `request_id`. `request()` rejects instead. Off by default: the IPC lines stay the Rust ones.
   * `sendAcked`/`broadcastAcked` ask for an acknowledgement whatever this says.
   */
  acks?: boolean;
  /**
   * Skill and prompt runs at once (default 64). Beyond it a request is answered at once with an
   * `overloaded` error instead of starting a run: runs never pile up without end. (Pausing the
   * transport instead would also hold back the replies those runs may be waiting for.)
   */
  maxConcurrent?: number;
}

/** The peer's `ack` line: how far the message got (see mesh/protocol/ipc.ts). */
export type SendAck = Extract<PeerEvent, { type: 'ack' }>['payload'];

export interface AgentRequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onChunk?: (msg: MeshMessage) => void;
}

export type AgentClientEvents = {
  /** Every message that is not a reply to one of our requests and not handled as a skill/prompt. */
  message: [msg: MeshMessage, fromPeer: string];
  peer_connected: [peerId: string];
  peer_disconnected: [peerId: string];
  /** An `error` line that is not tied to one of our requests. */
  error: [err: { code: string; message: string; [k: string]: unknown }];
  close: [];
};

export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** What the failure names: `ack_id`, `request_id`, `target_peer` (acknowledged sends). */
    readonly details: { ack_id?: string; request_id?: string; target_peer?: string } = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** A send waiting for the peer's `ack` line. */
interface AckWait {
  resolve: (ack: SendAck) => void;
  reject: (e: AgentError) => void;
  /** A broadcast: per-peer `error` lines do not settle it, the `ack` line lists the failures. */
  broadcast: boolean;
  details: { ack_id: string; request_id?: string; target_peer?: string };
}

interface Pending {
  resolve: (m: MeshMessage) => void;
  reject: (e: Error) => void;
  onChunk?: ((m: MeshMessage) => void) | undefined;
}

/**
 * The agent SDK: the same in a sidecar agent process (socket transport) and in a worker agent
 * (postMessage transport). Speaks the IPC protocol (docs/sidecar.md).
 */
export class AgentClient extends Emitter<AgentClientEvents> {
  readonly #t: AgentTransport;
  readonly #skills = new Map<string, { info: SkillInfo; handler: SkillHandler; args?: z.ZodType | undefined }>();
  readonly #pending = new Map<string, Pending>();
  readonly #peerListWaiters: ((peers: string[]) => void)[] = [];
  #onPrompt: PromptHandler | undefined;
  #name: string | undefined;
  readonly #backedBy: BackedBy | undefined;
  #peerId: string | undefined;
  #registered: { resolve: (peerId: string) => void; reject: (e: AgentError) => void } | undefined;
  #closed = false;
  readonly #acks: boolean;
  readonly #ackWaits = new Map<string, AckWait>();
  readonly #ackPrefix = randomId(3);
  #ackSeq = 0;
  readonly #maxConcurrent: number;
  #running = 0;
  /** `${fromPeer}\0${request_id}` of the skill/prompt runs in progress → their abort (for `cancel`). */
  readonly #runs = new Map<string, AbortController>();
  /** Peers with an open link, as the peer reported them. */
  readonly peers = new Set<string>();

  constructor(transport: AgentTransport, opts: AgentOptions = {}) {
    super();
    this.#t = transport;
    this.#name = opts.name;
    this.#backedBy = opts.backedBy;
    for (const [name, s] of Object.entries(opts.skills ?? {})) this.#addSkill(name, s);
    this.#onPrompt = opts.onPrompt;
    this.#acks = opts.acks ?? false;
    this.#maxConcurrent = Math.max(1, opts.maxConcurrent ?? 64);
    transport.onLine((line) => this.#onLine(line));
    transport.onClose(() => {
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(new AgentError('closed', 'connection to the peer closed'));
      this.#pending.clear();
      // The peer may have died before passing these on: each is reported, none disappears silently.
      const unconfirmed = [...this.#ackWaits.values()];
      this.#ackWaits.clear();
      for (const w of unconfirmed) {
        w.reject(
          new AgentError(
            'closed',
            `the connection to the peer closed before it confirmed message ${w.details.ack_id}; it may not have been delivered`,
            w.details,
          ),
        );
      }
      this.emit('close');
    });
  }

  /** The peer this agent lives on (known after registration). */
  get peerId(): string | undefined {
    return this.#peerId;
  }
  get name(): string | undefined {
    return this.#name;
  }

  /** Announces name + skills; resolves with the peer id. */
  register(timeoutMs = 5_000): Promise<string> {
    if (!this.#name) return Promise.reject(new AgentError('invalid', 'an agent needs a name to register'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new AgentError('timeout', 'the peer did not confirm registration')), timeoutMs);
      this.#registered = {
        resolve: (peerId) => {
          clearTimeout(t);
          resolve(peerId);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.#t.send({
        type: 'register_agent',
        payload: this.#registration(),
      });
    });
  }

  /** Adds a skill (re-announces when registered). */
  skill(name: string, handler: SkillHandler, about?: string | Omit<SkillDefinition, 'handler'>): void {
    this.#addSkill(name, { ...(typeof about === 'string' ? { description: about } : about), handler });
    if (this.#peerId && this.#name) {
      this.#t.send({ type: 'register_agent', payload: this.#registration() });
    }
  }

  #registration() {
    return { name: this.#name!, skills: [...this.#skills.values()].map((s) => s.info), ...(this.#backedBy && { backed_by: this.#backedBy }) };
  }

  /** Checks the spec as the peer will (a bad schema fails here, not at registration) and compiles the args schema. */
  #addSkill(name: string, s: SkillHandler | SkillDefinition): void {
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

  onPrompt(handler: PromptHandler): void {
    this.#onPrompt = handler;
  }

  /** Sends a message (with `acks`, a failure is reported as an `error` event naming it). */
  send(targetPeer: string, msg: MeshMessage): void {
    if (this.#acks) return this.#sendTracked(targetPeer, this.#withSource(msg), this.#reportAsEvent());
    this.#t.send({ type: 'send', payload: { target_peer: targetPeer, message: this.#withSource(msg) } });
  }

  broadcast(msg: MeshMessage): void {
    if (this.#acks) return this.#sendTracked(undefined, this.#withSource(msg), this.#reportAsEvent());
    this.#t.send({ type: 'broadcast', payload: { message: this.#withSource(msg) } });
  }

  /**
   * Sends and resolves with the peer's acknowledgement: `confirmed: "peer"` once the remote peer
   * holds the message. Rejects with an AgentError naming it (`details.ack_id`, `request_id`) when
   * the peer reports a failure or the connection to the peer closes first.
   */
  sendAcked(targetPeer: string, msg: MeshMessage): Promise<SendAck> {
    return new Promise((resolve, reject) => this.#sendTracked(targetPeer, this.#withSource(msg), { resolve, reject }));
  }

  /** Broadcasts and resolves with the acknowledgement: `peers` that confirmed, `failed` ones. */
  broadcastAcked(msg: MeshMessage): Promise<SendAck> {
    return new Promise((resolve, reject) => this.#sendTracked(undefined, this.#withSource(msg), { resolve, reject }));
  }

  /** Messages sent with an acknowledgement requested that the peer has not confirmed yet. */
  get unconfirmed(): number {
    return this.#ackWaits.size;
  }

  /** `targetPeer` undefined = broadcast. */
  #sendTracked(targetPeer: string | undefined, msg: MeshMessage, on: { resolve: (a: SendAck) => void; reject: (e: AgentError) => void }): void {
    const ackId = `${this.#ackPrefix}-${++this.#ackSeq}`;
    const details = { ack_id: ackId, ...(msg.request_id && { request_id: msg.request_id }), ...(targetPeer && { target_peer: targetPeer }) };
    if (this.#closed) return on.reject(new AgentError('closed', 'connection to the peer closed', details));
    this.#ackWaits.set(ackId, { ...on, broadcast: targetPeer === undefined, details });
    if (targetPeer === undefined) this.#t.send({ type: 'broadcast', payload: { message: msg, ack_id: ackId } });
    else this.#t.send({ type: 'send', payload: { target_peer: targetPeer, message: msg, ack_id: ackId } });
  }

  #reportAsEvent() {
    return {
      resolve: () => {},
      reject: (e: AgentError) => this.emit('error', { code: e.code, message: e.message, ...e.details }),
    };
  }

  /** Sends and waits for the correlated reply. `targetPeer` "local" = this peer (its agents and built-ins). */
  request(targetPeer: string, msg: MeshMessage, opts: AgentRequestOptions = {}): Promise<MeshMessage> {
    if (this.#closed) return Promise.reject(new AgentError('closed', 'connection to the peer closed'));
    const requestId = msg.request_id || randomId(6);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      // Giving up tells the other end, which stops the work (an LLM agent stops generating).
      const giveUp = (err: AgentError) => {
        if (this.#pending.has(requestId) && !this.#closed) {
          this.#t.send({
            type: 'send',
            payload: {
              target_peer: targetPeer,
              message: this.#withSource({
                type: 'cancel',
                request_id: requestId,
                ...(msg.target_agent && { target_agent: msg.target_agent }),
                payload: { reason: err.message },
              }),
            },
          });
        }
        done(err);
      };
      const timer = setTimeout(() => giveUp(new AgentError('timeout', `no reply within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => giveUp(new AgentError('aborted', 'request aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null, m?: MeshMessage) => {
        if (!this.#pending.has(requestId)) return;
        this.#pending.delete(requestId);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(m!);
      };
      this.#pending.set(requestId, { resolve: (m) => done(null, m), reject: (e) => done(e), onChunk: opts.onChunk });
      const out = this.#withSource({ ...msg, request_id: requestId });
      if (this.#acks) this.#sendTracked(targetPeer, out, { resolve: () => {}, reject: (e) => done(e) });
      else this.#t.send({ type: 'send', payload: { target_peer: targetPeer, message: out } });
    });
  }

  /** Calls a skill and returns its result (throws its error). Default target: this peer. */
  async task(skill: string, args: unknown, opts: AgentRequestOptions & { peer?: string; agent?: string } = {}): Promise<unknown> {
    const msg: MeshMessage = { type: 'task_request', payload: { skill, args, ...(opts.timeoutMs && { timeout_ms: opts.timeoutMs }) } };
    if (opts.agent) msg.target_agent = opts.agent;
    const r = await this.request(opts.peer ?? 'local', msg, opts);
    if (r.type === 'error') {
      const e = meshErrorOf(r);
      throw new AgentError(e.code, e.message);
    }
    const p = payloadOf(r, 'task_response');
    if (!p) throw new AgentError('bad_response', `expected a task_response, got ${r.type} with a payload that does not fit`);
    if (p.error) throw new AgentError('task_failed', p.error);
    return p.result;
  }

  /** Asks the peer for its open links. */
  listPeers(timeoutMs = 5_000): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new AgentError('timeout', 'no peer_list')), timeoutMs);
      this.#peerListWaiters.push((peers) => {
        clearTimeout(t);
        resolve(peers);
      });
      this.#t.send({ type: 'list_peers', payload: {} });
    });
  }

  /** Asks the peer to open a link to another peer. */
  connectPeer(peerId: string): void {
    this.#t.send({ type: 'connect', payload: { target_peer_id: peerId } });
  }

  close(): void {
    this.#t.close();
  }

  #withSource(msg: MeshMessage): MeshMessage {
    return msg.source_agent || !this.#name ? msg : { ...msg, source_agent: this.#name };
  }

  #onLine(raw: unknown): void {
    const d = decodePeerEvent(raw);
    if (!d.ok) {
      this.emit('error', { code: d.error.code, message: `bad line from the peer: ${d.error.message}` });
      return;
    }
    const ev = d.value;
    switch (ev.type) {
      case 'registered':
        this.#peerId = ev.payload.peer_id;
        this.#registered?.resolve(ev.payload.peer_id);
        this.#registered = undefined;
        return;
      case 'peer_connected':
        this.peers.add(ev.payload.peer_id);
        this.emit('peer_connected', ev.payload.peer_id);
        return;
      case 'peer_disconnected':
        this.peers.delete(ev.payload.peer_id);
        this.emit('peer_disconnected', ev.payload.peer_id);
        return;
      case 'peer_list': {
        this.peers.clear();
        for (const p of ev.payload.peers) this.peers.add(p);
        const w = this.#peerListWaiters.shift();
        w?.(ev.payload.peers);
        return;
      }
      case 'ack': {
        const w = this.#ackWaits.get(ev.payload.ack_id);
        if (!w) return;
        this.#ackWaits.delete(ev.payload.ack_id);
        w.resolve(ev.payload);
        return;
      }
      case 'error': {
        if (ev.payload.code === 'name_taken' && this.#registered) {
          this.#registered.reject(new AgentError(ev.payload.code, ev.payload.message));
          this.#registered = undefined;
          return;
        }
        const ackId = ev.payload.ack_id;
        const w = ackId ? this.#ackWaits.get(ackId) : undefined;
        if (ackId && w && !w.broadcast) {
          this.#ackWaits.delete(ackId);
          return w.reject(new AgentError(ev.payload.code, ev.payload.message, w.details));
        }
        const rid = ev.payload.request_id;
        const p = rid ? this.#pending.get(rid) : undefined;
        if (p) p.reject(new AgentError(ev.payload.code, ev.payload.message));
        else this.emit('error', ev.payload);
        return;
      }
      case 'message':
        return this.#onMessage(ev.payload.message, ev.payload.from_peer);
    }
  }

  #onMessage(msg: MeshMessage, from: string): void {
    const rid = msg.request_id;
    if (msg.type === 'cancel') {
      const run = rid ? this.#runs.get(`${from}\u0000${rid}`) : undefined;
      if (run) return run.abort(new AgentError('cancelled', 'the requester cancelled'));
      return void this.emit('message', msg, from);
    }
    if (rid && msg.type !== 'task_request' && msg.type !== 'agent_prompt') {
      const p = this.#pending.get(rid);
      if (p) {
        if (isOpenStreamChunk(msg)) p.onChunk?.(msg);
        else if (msg.type === 'error') {
          const e = meshErrorOf(msg);
          p.reject(new AgentError(e.code, e.message));
        } else p.resolve(msg);
        return;
      }
    }
    if (msg.type === 'task_request') return void this.#runSkill(msg, from);
    if (msg.type === 'agent_prompt' && this.#onPrompt) return void this.#runPrompt(msg, from);
    this.emit('message', msg, from);
  }

  #reply(to: string, req: MeshMessage, type: string, payload: unknown): void {
    const m: MeshMessage = { type, payload };
    if (req.request_id) m.request_id = req.request_id;
    if (req.source_agent) m.target_agent = req.source_agent;
    this.send(to, m);
  }

  async #runSkill(msg: MeshMessage, from: string): Promise<void> {
    const p = payloadOf(msg, 'task_request');
    const s = p ? this.#skills.get(p.skill) : undefined;
    if (!p || !s) {
      const why = p ? `has no skill "${p.skill}"` : 'got a task_request without a valid skill name';
      if (this.#name) this.#reply(from, msg, 'task_response', { error: `agent ${this.#name} ${why}` });
      else this.emit('message', msg, from);
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
      const error = `agent ${this.#name ?? ''} is overloaded (${this.#running} runs in progress)`.replace('  ', ' ');
      this.#reply(from, msg, replyType, replyType === 'agent_response' ? { text: '', error } : { error });
      return false;
    }
    this.#running++;
    return true;
  }

  async #runPrompt(msg: MeshMessage, from: string): Promise<void> {
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

/** Connects an agent over a transport and registers it when it has a name. */
export async function connect(transport: AgentTransport, opts: AgentOptions = {}): Promise<AgentClient> {
  const client = new AgentClient(transport, opts);
  if (opts.name) await client.register(opts.registerTimeoutMs);
  return client;
}
