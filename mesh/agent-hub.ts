import { Emitter } from './emitter.ts';
import { type Mesh, MeshError, reply } from './mesh.ts';
import { randomId } from './ids.ts';
import { quietLogger, type Logger, type SkillCall, type SkillInfo } from './types.ts';
import {
  decodeAgentCommand,
  isOpenStreamChunk,
  payloadOf,
  skillSpec,
  type AgentCommand,
  type ArgsSchema,
  type BackedBy,
  type MeshMessage,
} from './protocol/index.ts';

/** One IPC line, as an object (the socket transport adds JSON + newline). */
export interface IpcLine {
  type: string;
  payload: Record<string, unknown>;
}

/**
 * A connection to one local agent, whatever carries it (Unix socket line, worker postMessage).
 * `send` returns false when the transport's own buffer is full; the hub then queues (bounded)
 * and waits for `onDrain`.
 */
export interface AgentConnection {
  send(line: IpcLine): boolean;
  close(): void;
  onDrain?(cb: () => void): void;
}

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

/** How a run the hub starts itself (a queued task, a prompt) is done. */
export interface RunOptions {
  timeoutMs?: number;
  sourceAgent?: string;
  targetAgent?: string;
  /** Each streamed piece of the answer, in order. */
  onChunk?: (text: string) => void;
  /** Aborting sends the agent a `cancel`. */
  signal?: AbortSignal;
}

export interface AgentHubOptions {
  mesh: Mesh;
  /** Lines queued per agent before overflow (default 1000). */
  maxQueuedLines?: number;
  /** Bytes (JSON chars) queued per agent before overflow (default 128 MiB). */
  maxQueuedBytes?: number;
  /** Timeout for `runTask` on a local agent (default 300 s). */
  taskTimeoutMs?: number;
  /** Receiving-peer skill ACL (docs/trust.md): decides `task_request`/`agent_prompt` from remote peers before any agent sees them. */
  authorize?: (fromPeer: string, msg: MeshMessage) => { allowed: boolean; reason: string };
  logger?: Logger;
}

export type AgentHubEvents = {
  agents_changed: [];
};

interface LocalAgent {
  id: number;
  conn: AgentConnection;
  name?: string;
  skills: SkillInfo[];
  backedBy?: BackedBy;
  queue: { line: IpcLine; size: number; onDrop?: () => void }[];
  queuedBytes: number;
  blocked: boolean;
  dropped: number;
  open: boolean;
}

const LOCAL = 'local';
const REQUEST_TYPES = new Set(['task_request', 'skill_query', 'ping', 'agent_prompt']);

/**
 * The IPC host logic (docs/sidecar.md, The IPC protocol), shared by the sidecar's Unix socket and the tab's workers.
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
  /** request_id → hub-initiated local task (runTask). */
  readonly #waiters = new Map<string, { resolve: (m: MeshMessage) => void; onChunk?: ((m: MeshMessage) => void) | undefined }>();
  readonly #offs: (() => void)[] = [];
  #nextId = 1;
  #rr = 0;

  constructor(opts: AgentHubOptions) {
    this.#o = opts;
    this.#mesh = opts.mesh;
    this.#log = opts.logger ?? quietLogger;
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
          if (a) this.#error(a, 'link_lost', `not delivered to ${peer}: ${reason}`, { target_peer: peer, request_id: m.request_id });
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
    const a: LocalAgent = { id: this.#nextId++, conn, skills: [], queue: [], queuedBytes: 0, blocked: false, dropped: 0, open: true };
    this.#agents.set(a.id, a);
    conn.onDrain?.(() => this.#flush(a));
    return {
      id: a.id,
      receive: (line) => this.#onLine(a, line),
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
  async #run(msg: MeshMessage, what: string, opts: RunOptions): Promise<MeshMessage> {
    const requestId = msg.request_id!;
    if (opts.sourceAgent) msg.source_agent = opts.sourceAgent;
    if (opts.targetAgent) msg.target_agent = opts.targetAgent;
    const timeoutMs = opts.timeoutMs ?? this.#o.taskTimeoutMs ?? 300_000;
    if (opts.signal?.aborted) throw new MeshError('cancelled', 'cancelled before it started');
    return new Promise<MeshMessage>((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        opts.signal?.removeEventListener('abort', cancel);
        this.#waiters.delete(requestId);
      };
      const t = setTimeout(() => {
        done();
        reject(new MeshError('timeout', `${what} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      // The run's requester gave up: the agent running it is told (`cancel`) and stops its work.
      const cancel = () => {
        done();
        this.#route(
          {
            type: 'cancel',
            request_id: requestId,
            ...(opts.targetAgent && { target_agent: opts.targetAgent }),
            payload: { reason: 'the requester cancelled' },
          },
          this.peerId,
          undefined,
        );
        reject(new MeshError('cancelled', 'the requester cancelled'));
      };
      opts.signal?.addEventListener('abort', cancel, { once: true });
      const onChunk = opts.onChunk;
      this.#waiters.set(requestId, {
        resolve: (m) => {
          done();
          resolve(m);
        },
        ...(onChunk && {
          onChunk: (m: MeshMessage) => {
            const text = (payloadOf(m, 'task_stream_chunk') ?? payloadOf(m, 'agent_stream_chunk'))?.text;
            if (text) onChunk(text);
          },
        }),
      });
      this.#route(msg, this.peerId, undefined);
    });
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

  // ─── agent → peer ───────────────────────────────────────────────────

  #onLine(a: LocalAgent, line: unknown): void {
    if (typeof line === 'string' && line.trim() === '') return;
    const d = decodeAgentCommand(line);
    if (!d.ok) return this.#error(a, d.error.code, d.error.message);
    void this.#command(a, d.value).catch((err) => this.#error(a, 'internal', String(err)));
  }

  async #command(a: LocalAgent, cmd: AgentCommand): Promise<void> {
    switch (cmd.type) {
      case 'register_agent': {
        const name = cmd.payload.name;
        const taken = [...this.#agents.values()].some((o) => o !== a && o.name === name);
        if (taken) return this.#error(a, 'name_taken', `an agent named "${name}" is already connected to this peer`);
        a.name = name;
        a.skills = cmd.payload.skills.map(skillSpec);
        if (cmd.payload.backed_by) a.backedBy = cmd.payload.backed_by;
        this.#enqueue(a, { type: 'registered', payload: { peer_id: this.peerId, name } });
        this.events.emit('agents_changed');
        return;
      }
      case 'list_peers':
        return this.#enqueue(a, { type: 'peer_list', payload: { peers: this.#mesh.peers() } });
      case 'connect': {
        const target = (cmd.payload.target_peer_id ?? cmd.payload.peer_id)!;
        try {
          await this.#mesh.connect(target);
        } catch (err) {
          this.#error(a, codeOf(err), (err as Error).message, { target_peer: target });
        }
        return;
      }
      case 'send': {
        const ackId = cmd.payload.ack_id;
        const msg = this.#stamp(a, cmd.payload.message, ackId === undefined);
        const target = cmd.payload.target_peer;
        if (msg.request_id && isFinalReply(msg)) this.#handling.delete(handlingKey(target === LOCAL ? this.peerId : target, msg.request_id));
        const names = { target_peer: target, ...(msg.request_id && { request_id: msg.request_id }), ...(ackId && { ack_id: ackId }) };
        if (target === this.peerId || target === LOCAL) {
          this.#route(msg, this.peerId, a.id);
          if (ackId) this.#enqueue(a, { type: 'ack', payload: { ack_id: ackId, confirmed: 'local', ...names } });
          return;
        }
        try {
          if (ackId) {
            // Answer only once the remote peer holds it: the resend queue dies with this process.
            const confirmed = await this.#mesh.sendConfirmed(target, msg);
            this.#enqueue(a, { type: 'ack', payload: { ack_id: ackId, confirmed, ...names } });
          } else {
            await this.#mesh.send(target, msg);
          }
        } catch (err) {
          this.#error(a, codeOf(err), (err as Error).message, names);
        }
        return;
      }
      case 'broadcast': {
        const ackId = cmd.payload.ack_id;
        const msg = this.#stamp(a, { ...cmd.payload.message, target_agent: cmd.payload.message.target_agent || '*' }, ackId === undefined);
        for (const o of this.#agents.values()) if (o !== a) this.#enqueue(o, messageLine(this.peerId, msg));
        if (!ackId) {
          const r = await this.#mesh.broadcast(msg);
          for (const f of r.failed) this.#error(a, 'send_failed', f.error, { target_peer: f.peer_id });
          return;
        }
        return this.#broadcastConfirmed(a, msg, ackId);
      }
    }
  }

  /** `broadcast` with an ack_id: every open link confirms (or fails) before the `ack` line. */
  async #broadcastConfirmed(a: LocalAgent, msg: MeshMessage, ackId: string): Promise<void> {
    const peers = this.#mesh.peers();
    const results = await Promise.allSettled(peers.map((p) => this.#mesh.sendConfirmed(p, msg)));
    const ok: string[] = [];
    const failed: { peer_id: string; code: string; message: string }[] = [];
    let confirmed: 'peer' | 'sent' | 'local' = peers.length ? 'peer' : 'local';
    results.forEach((r, i) => {
      const peer = peers[i]!;
      if (r.status === 'fulfilled') {
        ok.push(peer);
        if (r.value === 'sent') confirmed = 'sent';
        return;
      }
      const err = r.reason as Error;
      failed.push({ peer_id: peer, code: codeOf(err), message: err.message.slice(0, 4000) });
      this.#error(a, codeOf(err), err.message, { target_peer: peer, ack_id: ackId, ...(msg.request_id && { request_id: msg.request_id }) });
    });
    this.#enqueue(a, {
      type: 'ack',
      payload: { ack_id: ackId, confirmed, peers: ok, ...(failed.length && { failed }), ...(msg.request_id && { request_id: msg.request_id }) },
    });
  }

  /**
   * Fills source_agent with the agent's name and remembers who asked, so replies find their way
   * back. `reportUndelivered`: a later `link_lost` names the message (acked sends hear it directly).
   */
  #stamp(a: LocalAgent, msg: MeshMessage, reportUndelivered = true): MeshMessage {
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
      const w = this.#waiters.get(rid);
      if (w) {
        if (isOpenStreamChunk(msg)) w.onChunk?.(msg);
        else w.resolve(msg);
        return;
      }
      const owner = this.#requesters.get(rid);
      const agent = owner === undefined ? undefined : this.#agents.get(owner);
      if (agent) {
        if (!isOpenStreamChunk(msg)) {
          this.#requesters.delete(rid);
        }
        return this.#enqueue(agent, messageLine(fromPeer, msg));
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
      for (const x of legacy) this.#enqueue(x, line);
      return;
    }
    if (msg.type === 'task_request') {
      const skill = payloadOf(msg, 'task_request')?.skill ?? '';
      const withSkill = others.filter((x) => x.skills.some((s) => s.name === skill));
      if (withSkill.length) return this.#handOver(withSkill[this.#rr++ % withSkill.length]!, msg, fromPeer, fromAgent);
      const b = this.#builtins.get(skill);
      if (b?.localOnly && fromPeer !== this.peerId) {
        return this.#answer(reply(msg, 'task_response', { error: `skill "${skill}" of peer ${this.peerId} serves only its own agents` }), fromPeer, fromAgent);
      }
      if (b) return void this.#runBuiltin(b.fn, msg, fromPeer, fromAgent);
      const unregistered = others.filter((x) => !x.name);
      if (unregistered.length) {
        for (const x of unregistered) this.#enqueue(x, line);
        return;
      }
      return this.#answer(reply(msg, 'task_response', { error: `no agent on peer ${this.peerId} has skill "${skill}"` }), fromPeer, fromAgent);
    }
    for (const x of others) this.#enqueue(x, line);
  }

  /** A request for one local agent: remembered (so `cancel` finds it), then queued to it. */
  #handOver(a: LocalAgent, msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): void {
    if (msg.request_id && (msg.type === 'task_request' || msg.type === 'agent_prompt')) this.#remember(handlingKey(fromPeer, msg.request_id), a.id);
    this.#enqueue(a, messageLine(fromPeer, msg), () => this.#overloaded(msg, fromPeer, fromAgent));
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
    if (a) this.#enqueue(a, messageLine(fromPeer, msg));
  }

  async #runBuiltin(fn: BuiltinSkill, msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): Promise<void> {
    const p = payloadOf(msg, 'task_request');
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
      out = reply(msg, 'task_response', { result: await fn(p?.args, ctx) });
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
    if (msg.request_id && this.#waiters.has(msg.request_id)) return this.#route(msg, this.peerId, undefined);
    const a = toAgent === undefined ? undefined : this.#agents.get(toAgent);
    if (a) this.#enqueue(a, messageLine(this.peerId, msg));
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

  // ─── bounded per-agent queues ───────────────────────────────────────

  #toAll(line: IpcLine): void {
    for (const a of this.#agents.values()) this.#enqueue(a, line);
  }

  #enqueue(a: LocalAgent, line: IpcLine, onDrop?: () => void): void {
    if (!a.open) return;
    if (!a.blocked && a.queue.length === 0) {
      if (!this.#write(a, line)) a.blocked = true;
      return;
    }
    const size = approxSize(line);
    const maxLines = this.#o.maxQueuedLines ?? 1000;
    const maxBytes = this.#o.maxQueuedBytes ?? 128 * 1024 * 1024;
    if (a.queue.length >= maxLines || a.queuedBytes + size > maxBytes) {
      a.dropped++;
      this.#log.warn(`[hub] agent ${a.name ?? a.id} is not reading; dropped a ${line.type} line`);
      onDrop?.();
      return;
    }
    a.queue.push({ line, size, ...(onDrop && { onDrop }) });
    a.queuedBytes += size;
  }

  #flush(a: LocalAgent): void {
    a.blocked = false;
    if (a.dropped > 0) {
      const n = a.dropped;
      a.dropped = 0;
      const ok = this.#write(a, {
        type: 'error',
        payload: { code: 'queue_overflow', message: `${n} message(s) were dropped because this agent did not read fast enough` },
      });
      if (!ok) return void (a.blocked = true);
    }
    while (a.queue.length && a.open) {
      const item = a.queue.shift()!;
      a.queuedBytes -= item.size;
      if (!this.#write(a, item.line)) return void (a.blocked = true);
    }
  }

  #write(a: LocalAgent, line: IpcLine): boolean {
    try {
      return a.conn.send(line);
    } catch (err) {
      this.#log.warn(`[hub] writing to agent ${a.name ?? a.id} failed: ${String(err)}`);
      return true;
    }
  }

  #error(a: LocalAgent, code: string, message: string, extra: Record<string, unknown> = {}): void {
    this.#enqueue(a, { type: 'error', payload: { code, message: message.slice(0, 4000), ...extra } });
  }
}

const handlingKey = (peer: string, requestId: string) => `${peer}\u0000${requestId}`;

/** The last message of an exchange: the answer, an error, or the closing chunk of a stream. */
function isFinalReply(m: MeshMessage): boolean {
  if (REQUEST_TYPES.has(m.type) || m.type === 'cancel') return false;
  return !isOpenStreamChunk(m);
}

export function messageLine(fromPeer: string, message: MeshMessage): IpcLine {
  return { type: 'message', payload: { from_peer: fromPeer, message } };
}

function codeOf(err: unknown): string {
  return err instanceof MeshError ? err.code : 'send_failed';
}

/** Approximate size of a line (JSON chars) without serializing it: the per-agent queue bound and the worker port's in-flight window. */
export function approxSize(line: IpcLine): number {
  const m: unknown = line.payload.message;
  if (m instanceof Object && 'payload' in m && typeof m.payload === 'object') {
    // Cheap estimate without serializing: strings dominate big messages.
    let n = 256;
    const stack: unknown[] = [m.payload];
    let budget = 10_000;
    while (stack.length && budget-- > 0) {
      const v = stack.pop();
      if (typeof v === 'string') n += v.length;
      else if (v && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
      else n += 8;
    }
    return n;
  }
  return 256;
}
