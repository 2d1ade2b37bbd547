import { type Mesh, MeshError } from '../mesh.ts';
import { decodeAgentCommand, skillSpec, type AgentCommand, type MeshMessage } from '../protocol/index.ts';
import { messageLine, type LocalAgent } from './local-agent.ts';

/** `send` to this peer's own agents, besides its own peer id. */
const LOCAL = 'local';

/** What the commands need of the hub. */
export interface CommandHost {
  readonly mesh: Mesh;
  agents(): Iterable<LocalAgent>;
  /** Fills source_agent and remembers who sent it (replies and `link_lost` find their way back). */
  stamp(a: LocalAgent, msg: MeshMessage, reportUndelivered: boolean): MeshMessage;
  /** A message that reached this peer, from `fromPeer` (and local agent `fromAgent`), to its local agents. */
  route(msg: MeshMessage, fromPeer: string, fromAgent: number | undefined): void;
  /** An agent sends `msg` to `toPeer`: when it is the final reply to that peer's request, `cancel` no longer applies. */
  replied(toPeer: string, msg: MeshMessage): void;
  /** An agent registered (its name and skills changed). */
  registered(): void;
}

/**
 * Agent → peer: one inbound IPC line of an attached agent (docs/sidecar.md, the IPC protocol),
 * decoded and carried out — register_agent, list_peers, connect, send, broadcast (with acks).
 */
export class AgentCommands {
  readonly #host: CommandHost;

  constructor(host: CommandHost) {
    this.#host = host;
  }

  /** One line from agent `a`: a string (socket) or an object (postMessage); a bad one gets an `error` line. */
  receive(a: LocalAgent, line: unknown): void {
    if (typeof line === 'string' && line.trim() === '') return;
    const d = decodeAgentCommand(line);
    if (!d.ok) return a.error(d.error.code, d.error.message);
    void this.#command(a, d.value).catch((err) => a.error('internal', String(err)));
  }

  async #command(a: LocalAgent, cmd: AgentCommand): Promise<void> {
    const mesh = this.#host.mesh;
    switch (cmd.type) {
      case 'register_agent': {
        const name = cmd.payload.name;
        const taken = [...this.#host.agents()].some((o) => o !== a && o.name === name);
        if (taken) return a.error('name_taken', `an agent named "${name}" is already connected to this peer`);
        a.name = name;
        a.skills = cmd.payload.skills.map(skillSpec);
        if (cmd.payload.backed_by) a.backedBy = cmd.payload.backed_by;
        a.enqueue({ type: 'registered', payload: { peer_id: mesh.peerId, name } });
        this.#host.registered();
        return;
      }
      case 'list_peers':
        return a.enqueue({ type: 'peer_list', payload: { peers: mesh.peers() } });
      case 'connect': {
        const target = (cmd.payload.target_peer_id ?? cmd.payload.peer_id)!;
        try {
          await mesh.connect(target);
        } catch (err) {
          a.error(codeOf(err), (err as Error).message, { target_peer: target });
        }
        return;
      }
      case 'send': {
        const ackId = cmd.payload.ack_id;
        const msg = this.#host.stamp(a, cmd.payload.message, ackId === undefined);
        const target = cmd.payload.target_peer;
        this.#host.replied(target === LOCAL ? mesh.peerId : target, msg);
        const names = { target_peer: target, ...(msg.request_id && { request_id: msg.request_id }), ...(ackId && { ack_id: ackId }) };
        if (target === mesh.peerId || target === LOCAL) {
          this.#host.route(msg, mesh.peerId, a.id);
          if (ackId) a.enqueue({ type: 'ack', payload: { ack_id: ackId, confirmed: 'local', ...names } });
          return;
        }
        try {
          if (ackId) {
            // Answer only once the remote peer holds it: the resend queue dies with this process.
            const confirmed = await mesh.sendConfirmed(target, msg);
            a.enqueue({ type: 'ack', payload: { ack_id: ackId, confirmed, ...names } });
          } else {
            await mesh.send(target, msg);
          }
        } catch (err) {
          a.error(codeOf(err), (err as Error).message, names);
        }
        return;
      }
      case 'broadcast': {
        const ackId = cmd.payload.ack_id;
        const msg = this.#host.stamp(a, { ...cmd.payload.message, target_agent: cmd.payload.message.target_agent || '*' }, ackId === undefined);
        for (const o of this.#host.agents()) if (o !== a) o.enqueue(messageLine(mesh.peerId, msg));
        if (!ackId) {
          const r = await mesh.broadcast(msg);
          for (const f of r.failed) a.error('send_failed', f.error, { target_peer: f.peer_id });
          return;
        }
        return this.#broadcastConfirmed(a, msg, ackId);
      }
    }
  }

  /** `broadcast` with an ack_id: every open link confirms (or fails) before the `ack` line. */
  async #broadcastConfirmed(a: LocalAgent, msg: MeshMessage, ackId: string): Promise<void> {
    const mesh = this.#host.mesh;
    const peers = mesh.peers();
    const results = await Promise.allSettled(peers.map((p) => mesh.sendConfirmed(p, msg)));
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
      a.error(codeOf(err), err.message, { target_peer: peer, ack_id: ackId, ...(msg.request_id && { request_id: msg.request_id }) });
    });
    a.enqueue({
      type: 'ack',
      payload: { ack_id: ackId, confirmed, peers: ok, ...(failed.length && { failed }), ...(msg.request_id && { request_id: msg.request_id }) },
    });
  }
}

function codeOf(err: unknown): string {
  return err instanceof MeshError ? err.code : 'send_failed';
}
