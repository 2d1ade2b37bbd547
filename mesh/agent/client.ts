import { Emitter } from '../emitter.ts';
import { randomId } from '../ids.ts';
import { decodePeerEvent, isOpenStreamChunk, meshErrorOf, payloadOf, type BackedBy, type MeshMessage, type PeerEvent } from '../protocol/index.ts';
import type { SkillCall } from '../types.ts';
import { AgentError } from './agent-error.ts';
import { SkillRunner, type PromptHandler, type SkillDefinition, type SkillHandler } from './skill-runner.ts';
import type { AgentTransport } from './transport.ts';

export type { SkillCall };
export { AgentError } from './agent-error.ts';
export type { PromptHandler, PromptPiece, SkillDefinition, SkillHandler } from './skill-runner.ts';

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
 * (postMessage transport). Speaks the IPC protocol (docs/sidecar.md): registration, sends (with
 * acknowledgements when asked), requests and their replies; the requests to this agent are run by
 * its SkillRunner (skill-runner.ts).
 */
export class AgentClient extends Emitter<AgentClientEvents> {
  readonly #t: AgentTransport;
  readonly #runner: SkillRunner;
  readonly #pending = new Map<string, Pending>();
  readonly #peerListWaiters: ((peers: string[]) => void)[] = [];
  #name: string | undefined;
  readonly #backedBy: BackedBy | undefined;
  #peerId: string | undefined;
  #registered: { resolve: (peerId: string) => void; reject: (e: AgentError) => void } | undefined;
  #closed = false;
  readonly #acks: boolean;
  readonly #ackWaits = new Map<string, AckWait>();
  readonly #ackPrefix = randomId(3);
  #ackSeq = 0;
  /** Peers with an open link, as the peer reported them. */
  readonly peers = new Set<string>();

  constructor(transport: AgentTransport, opts: AgentOptions = {}) {
    super();
    this.#t = transport;
    this.#name = opts.name;
    this.#backedBy = opts.backedBy;
    this.#runner = new SkillRunner(
      { name: () => this.#name, send: (to, msg) => this.send(to, msg), unhandled: (msg, from) => this.emit('message', msg, from) },
      Math.max(1, opts.maxConcurrent ?? 64),
    );
    for (const [name, s] of Object.entries(opts.skills ?? {})) this.#runner.add(name, s);
    this.#runner.setPromptHandler(opts.onPrompt);
    this.#acks = opts.acks ?? false;
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
    this.#runner.add(name, { ...(typeof about === 'string' ? { description: about } : about), handler });
    if (this.#peerId && this.#name) {
      this.#t.send({ type: 'register_agent', payload: this.#registration() });
    }
  }

  #registration() {
    return { name: this.#name!, skills: this.#runner.infos(), ...(this.#backedBy && { backed_by: this.#backedBy }) };
  }

  onPrompt(handler: PromptHandler): void {
    this.#runner.setPromptHandler(handler);
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
      if (rid && this.#runner.cancel(from, rid)) return;
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
    if (msg.type === 'task_request') return void this.#runner.runSkill(msg, from);
    if (msg.type === 'agent_prompt' && this.#runner.answersPrompts) return void this.#runner.runPrompt(msg, from);
    this.emit('message', msg, from);
  }
}

/** Connects an agent over a transport and registers it when it has a name. */
export async function connect(transport: AgentTransport, opts: AgentOptions = {}): Promise<AgentClient> {
  const client = new AgentClient(transport, opts);
  if (opts.name) await client.register(opts.registerTimeoutMs);
  return client;
}
