import { Emitter } from './emitter.ts';
import { type Mesh, MeshError, reply } from './mesh.ts';
import { randomId } from './ids.ts';
import { quietLogger, type Logger, type SkillCall, type SkillInfo } from './types.ts';
import { isOpenStreamChunk, payloadOf, type ArgsSchema, type BackedBy, type MeshMessage, type MeshPayload } from './protocol/index.ts';
import { AgentCommands } from './hub/commands.ts';
import { LocalAgent, messageLine, type AgentConnection, type IpcLine, type QueueBounds } from './hub/local-agent.ts';
import { HubRuns, type RunOptions } from './hub/runs.ts';

export { approxSize, messageLine, type AgentConnection, type IpcLine } from './hub/local-agent.ts';
export type { RunOptions } from './hub/runs.ts';

/** What the transport calls back into for one attached agent. */
export interface AttachedAgent {
  readonly id: number;
  /** One inbound line: a string (socket) or an object (postMessage). */
  receive(line: unknown): void;
  /** The transport closed. */
  closed(): void;
}

/** A skill the peer itself provides (built-ins: the sidecar's delegate, list_agents…). */
export type BuiltinSkill = (args: unknown, call: SkillCall) => Promise<unknown> | unknown;

export interface BuiltinOptions {
  /** JSON Schema of the args (docs/skills.md). */
  argsSchema?: ArgsSchema;
  /** Only this peer's own agents may call it; not announced to the mesh (it would act as this peer for others). */
  localOnly?: boolean;
}

export interface AgentHubOptions extends QueueBounds {
  mesh: Mesh;
  /** Timeout for `runTask` on a local agent (default 300 s). */
  taskTimeoutMs?: number;
  /** Receiving-peer skill ACL (docs/trust.md): decides `task_request`/`agent_prompt` from remote peers before any agent sees them. */
  authorize?: (fromPeer: string, msg: MeshMessage) => { allowed: boolean; reason: string };
  logger?: Logger;
}

export type AgentHubEvents = {
  agents_changed: [];
};

type TaskRequest = MeshPayload<'task_request'>;

const REQUEST_TYPES = new Set(['task_request', 'skill_query', 'ping', 'agent_prompt']);

/**
 * The IPC host logic (docs/sidecar.md, The IPC protocol), shared by the sidecar's Unix socket and the tab's workers.
 * Its parts: the attached agents and their bounded queues (hub/local-agent.ts), what agents ask of
 * the peer (hub/commands.ts), the runs the hub starts itself (hub/runs.ts); here, routing.
 *
 * Routing of a message that reaches this peer (from the mesh, or from a local agent via
 * `send` to our own peer id or to "local"):
 *  1. a reply (same request_id) to a request a local agent sent → that agent only;
 *  2. `target_agent` naming a registered local agent → that agent only;
 *  3. `target_agent` naming no registered agent, while agents that never registered (legacy: the
 *     Python MeshClient) are attached → those agents only, whatever the type or skill: a request
 *     meant for a legacy agent is never answered by a built-in or another agent;
 *  4. `task_request` → the first registered agent with that skill (round robin), else a built-in
 *     skill, else every agent that never registered (the Python MeshClient handles its own), else
 *     a `task_response` error back to the sender;
 *  5. anything else → every agent (for a local sender: every other agent).
 * Per-agent queues are bounded; an agent that does not read loses messages with an
 * `error {code: "queue_overflow"}` line (and the requester gets a task_response error), while the
 * mesh and other agents carry on.
 */
export class AgentHub {
  readonly events = new Emitter<AgentHubEvents>();
  readonly #o: AgentHubOptions;
  readonly #mesh: Mesh;
  readonly #log: Logger;
  readonly #agents = new Map<number, LocalAgent>();
  readonly #builtins = new Map<string, { info: SkillInfo; fn: BuiltinSkill; localOnly: boolean }>();
  /** `${fromPeer}\0${request_id}` of a request being handled here → who handles it (for `cancel`). */
  readonly #handling = new Map<string, number | AbortController>();
  /** request_id → agent that sent the request (replies go back to it). */
  readonly #requesters = new Map<string, number>();
  /** request_id → agent that sent a message with it (to report undelivered messages). */
  readonly #senders = new Map<string, number>();
  readonly #runs = new HubRuns();
  readonly #commands: AgentCommands;
  readonly #offs: (() => void)[] = [];
  #nextId = 1;
  #rr = 0;

  constructor(opts: AgentHubOptions) {
    this.#o = opts;
    this.#mesh = opts.mesh;
    this.#log = opts.logger ?? quietLogger;
    this.#commands = new AgentCommands({
      mesh: this.#mesh,
      agents: () => this.#agents.values(),
      stamp: (a, msg, reportUndelivered) => this.#stamp(a, msg, reportUndelivered),
      route: (msg, fromPeer, fromAgent) => this.#route(msg, fromPeer, fromAgent),
      replied: (toPeer, msg) => {
        if (msg.request_id && isFinalReply(msg)) this.#handling.delete(handlingKey(toPeer, msg.request_id));
      },
      registered: () => this.events.emit('agents_changed'),
    });
    this.#offs.push(
      this.#mesh.on('*', (msg, from) => {
        const d = msg.type === 'task_request' || msg.type === 'agent_prompt' ? opts.authorize?.(from, msg) : undefined;
        if (d && !d.allowed)
          return this.#answer(
            reply(msg, msg.type === 'task_request' ? 'task_response' : 'agent_response', { error: `forbidden: ${d.reason}` }),
            from,
            undefined,
          );
        this.#route(msg, from, undefined);
      }),
      this.#mesh.events.on('peer_connected', (p) => this.#toAll({ type: 'peer_connected', payload: { peer_id: p } })),
      this.#mesh.events.on('peer_disconnected', (p) => this.#toAll({ type: 'peer_disconnected', payload: { peer_id: p } })),
      this.#mesh.events.on('undelivered', (peer, msgs, reason) => {
        for (const m of msgs) {
          const id = m.request_id ? this.#senders.get(m.request_id) : undefined;
          const a = id === undefined ? undefined : this.#agents.get(id);
          if (a) a.error('link_lost', `not delivered to ${peer}: ${reason}`, { target_peer: peer, request_id: m.request_id });
        }
      }),
    );
  }

  get peerId(): string {
    return this.#mesh.peerId;
  }

  /** Registers a skill the peer itself answers. */
  registerSkill(name: string, description: string, fn: BuiltinSkill, opts: BuiltinOptions = {}): void {
    const info = { name, description, ...(opts.argsSchema && { args_schema: opts.argsSchema }) };
    this.#builtins.set(name, { info, fn, localOnly: opts.localOnly ?? false });
  }

  /** Skills of this peer: every registered agent's plus the built-ins (for skill_query and heartbeats). */
  skills(): SkillInfo[] {
    const seen = new Map<string, SkillInfo>();
    for (const a of this.#agents.values()) for (const s of a.skills) if (!seen.has(s.name)) seen.set(s.name, s);
    for (const b of this.#builtins.values()) if (!b.localOnly && !seen.has(b.info.name)) seen.set(b.info.name, b.info);
    return [...seen.values()];
  }

  /** Attached agents (registered ones have a name). */
  agents(): { id: number; name?: string; skills: SkillInfo[]; backedBy?: BackedBy }[] {
    return [...this.#agents.values()].map((a) => ({
      id: a.id,
      ...(a.name && { name: a.name }),
      skills: a.skills,
      ...(a.backedBy && { backedBy: a.backedBy }),
    }));
  }

  attach(conn: AgentConnection): AttachedAgent {
    const a = new LocalAgent(this.#nextId++, conn, this.#o, this.#log);
    this.#agents.set(a.id, a);
    conn.onDrain?.(() => a.flush());
    return {
      id: a.id,
      receive: (line) => this.#commands.receive(a, line),
      closed: () => {
        a.open = false;
        this.#agents.delete(a.id);
        for (const [rid, id] of this.#requesters) if (id === a.id) this.#requesters.delete(rid);
        if (a.name) this.events.emit('agents_changed');
      },
    };
  }

  /**
   * Runs a skill on this peer — a registered agent with that skill, else a built-in — and resolves
   * with the `task_response` payload's result (rejects with its error). Used for tasks that arrive
   * through the registry's queue.
   */
  async runTask(skill: string, args: unknown, opts: RunOptions = {}): Promise<unknown> {
    const msg: MeshMessage = { type: 'task_request', request_id: `task-${randomId(6)}`, payload: { skill, args } };
    const res = await this.#run(msg, `skill ${skill}`, opts);
    const p = payloadOf(res, 'task_response');
    if (!p) throw new MeshError('task_failed', `skill ${skill} answered ${res.type} with a payload that does not fit a task_response`);
    if (p.error) throw new MeshError('task_failed', p.error);
    return p.result;
  }

  /** Sends a prompt to a local agent (its chat) and resolves with the whole answer; pieces go to `onChunk`. */
  async runPrompt(text: string, opts: RunOptions = {}): Promise<string> {
    const msg: MeshMessage = { type: 'agent_prompt', request_id: `prompt-${randomId(6)}`, payload: { text } };
    const res = payloadOf(await this.#run(msg, `agent ${opts.targetAgent ?? ''}`.trim(), opts), 'agent_response');
    if (!res) throw new MeshError('task_failed', 'the agent did not answer the prompt');
    if (res.error) throw new MeshError('task_failed', res.error);
    return res.text;
  }

  /** One request to this peer's agents or built-ins, with a timeout, streamed pieces and cancel. */
  #run(msg: MeshMessage, what: string, opts: RunOptions): Promise<MeshMessage> {
    return this.#runs.start(msg, what, opts, this.#o.taskTimeoutMs ?? 300_000, (m) => this.#route(m, this.peerId, undefined));
  }

  /** Whether this peer can run a skill (a registered agent or a built-in has it). */
  hasSkill(skill: string): boolean {
    return this.skills().some((s) => s.name === skill);
  }

  close(): void {
    for (const off of this.#offs) off();
    for (const a of this.#agents.values()) {
      a.open = false;
      try {
        a.conn.close();
      } catch {
        /* ignore */
      }
    }
    this.#agents.clear();
  }

  /**
   * Fills source_agent with the agent's name and remembers who asked, so replies find their way
   * back. `reportUndelivered`: a later `link_lost` names the message (acked sends hear it directly).
   */
  #stamp(a: LocalAgent, msg: MeshMessage, reportUndelivered: boolean): MeshMessage {
    const m = { ...msg };
    if (!m.source_agent && a.name) m.source_agent = a.name;
    if (m.request_id && reportUndelivered) {
      this.#senders.set(m.request_id, a.id);
      if (this.#senders.size > 50_000) this.#senders.delete(this.#senders.keys().next().value!);
    }
    if (m.request_id && REQUEST_TYPES.has(m.type)) {
      this.#requesters.set(m.request_id, a.id);
      if (this.#requesters.size > 10_000) this.#requesters.delete(this.#requesters.keys().next().value!);
    }
    return m;
  }

  // ─── routing to local agents ────────────────────────────────────────

  #route(msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): void {
    if (msg.type === 'cancel') return this.#cancel(msg, fromPeer);
    const rid = msg.request_id;
    const isReply = !REQUEST_TYPES.has(msg.type);
    if (rid && isReply) {
      if (this.#runs.deliver(rid, msg)) return;
      const owner = this.#requesters.get(rid);
      const agent = owner === undefined ? undefined : this.#agents.get(owner);
      if (agent) {
        if (!isOpenStreamChunk(msg)) {
          this.#requesters.delete(rid);
        }
        return agent.enqueue(messageLine(fromPeer, msg));
      }
    }
    const line = messageLine(fromPeer, msg);
    const others = [...this.#agents.values()].filter((x) => x.id !== fromAgent);
    const named = msg.target_agent && msg.target_agent !== '*' ? msg.target_agent : undefined;
    const target = named ? others.find((x) => x.name === named) : undefined;
    if (target) return this.#handOver(target, msg, fromPeer, fromAgent);
    // Named, but by no agent that registered here: it is for a legacy agent (it names itself to the
    // registry, never to us), which gets it whatever the skill — a built-in never answers in its place.
    const legacy = named ? others.filter((x) => !x.name) : [];
    if (legacy.length) {
      for (const x of legacy) x.enqueue(line);
      return;
    }
    if (msg.type === 'task_request') {
      // Read once, and handed to the built-in: a local agent's request and runTask's reach here
      // unchecked (the mesh checks only what other peers send).
      const request = payloadOf(msg, 'task_request');
      const skill = request?.skill ?? '';
      const withSkill = others.filter((x) => x.skills.some((s) => s.name === skill));
      if (withSkill.length) return this.#handOver(withSkill[this.#rr++ % withSkill.length]!, msg, fromPeer, fromAgent);
      const b = this.#builtins.get(skill);
      if (b?.localOnly && fromPeer !== this.peerId) {
        return this.#answer(reply(msg, 'task_response', { error: `skill "${skill}" of peer ${this.peerId} serves only its own agents` }), fromPeer, fromAgent);
      }
      if (b) return void this.#runBuiltin(b.fn, msg, request, fromPeer, fromAgent);
      const unregistered = others.filter((x) => !x.name);
      if (unregistered.length) {
        for (const x of unregistered) x.enqueue(line);
        return;
      }
      return this.#answer(reply(msg, 'task_response', { error: `no agent on peer ${this.peerId} has skill "${skill}"` }), fromPeer, fromAgent);
    }
    for (const x of others) x.enqueue(line);
  }

  /** A request for one local agent: remembered (so `cancel` finds it), then queued to it. */
  #handOver(a: LocalAgent, msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): void {
    if (msg.request_id && (msg.type === 'task_request' || msg.type === 'agent_prompt')) this.#remember(handlingKey(fromPeer, msg.request_id), a.id);
    a.enqueue(messageLine(fromPeer, msg), () => this.#overloaded(msg, fromPeer, fromAgent));
  }

  #remember(key: string, who: number | AbortController): void {
    this.#handling.set(key, who);
    if (this.#handling.size > 10_000) this.#handling.delete(this.#handling.keys().next().value!);
  }

  /** `cancel` from the peer that sent the request: to the agent running it, or aborts the built-in. */
  #cancel(msg: MeshMessage, fromPeer: string): void {
    if (!msg.request_id) return;
    const key = handlingKey(fromPeer, msg.request_id);
    const who = this.#handling.get(key);
    if (who === undefined) return;
    this.#handling.delete(key);
    if (typeof who !== 'number') return who.abort(new MeshError('cancelled', 'the requester cancelled'));
    const a = this.#agents.get(who);
    if (a) a.enqueue(messageLine(fromPeer, msg));
  }

  /** `request`: the payload #route read (undefined when it did not fit a task_request). */
  async #runBuiltin(fn: BuiltinSkill, msg: MeshMessage, request: TaskRequest | undefined, fromPeer: string, fromAgent: number | undefined): Promise<void> {
    const abort = new AbortController();
    const key = msg.request_id ? handlingKey(fromPeer, msg.request_id) : undefined;
    if (key) this.#remember(key, abort);
    const ctx: SkillCall = {
      fromPeer,
      sourceAgent: msg.source_agent,
      requestId: msg.request_id,
      stream: (text) => this.#answer(reply(msg, 'task_stream_chunk', { text, done: false }), fromPeer, fromAgent),
      signal: abort.signal,
    };
    let out: MeshMessage;
    try {
      out = reply(msg, 'task_response', { result: await fn(request?.args, ctx) });
    } catch (err) {
      out = reply(msg, 'task_response', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      if (key && this.#handling.get(key) === abort) this.#handling.delete(key);
    }
    this.#answer(out, fromPeer, fromAgent);
  }

  /** Sends a reply produced on this peer back to whoever asked: a remote peer, a local agent or runTask. */
  #answer(msg: MeshMessage, toPeer: string, toAgent: number | undefined): void {
    if (toPeer !== this.peerId) {
      this.#mesh.send(toPeer, msg).catch((err) => this.#log.warn(`[hub] reply to ${toPeer} failed: ${(err as Error).message}`));
      return;
    }
    if (msg.request_id && this.#runs.has(msg.request_id)) return this.#route(msg, this.peerId, undefined);
    const a = toAgent === undefined ? undefined : this.#agents.get(toAgent);
    if (a) a.enqueue(messageLine(this.peerId, msg));
  }

  #overloaded(msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): void {
    if (msg.type === 'task_request') {
      this.#answer(
        reply(msg, 'task_response', { error: `agent ${msg.target_agent ?? ''} on ${this.peerId} is overloaded (queue full)`.replace('  ', ' ') }),
        fromPeer,
        fromAgent,
      );
    }
  }

  #toAll(line: IpcLine): void {
    for (const a of this.#agents.values()) a.enqueue(line);
  }
}

const handlingKey = (peer: string, requestId: string) => `${peer}\u0000${requestId}`;

/** The last message of an exchange: the answer, an error, or the closing chunk of a stream. */
function isFinalReply(m: MeshMessage): boolean {
  if (REQUEST_TYPES.has(m.type) || m.type === 'cancel') return false;
  return !isOpenStreamChunk(m);
}
