// A test-side agent that speaks the sidecar's IPC wire protocol (docs/sidecar.md) directly on its
// Unix socket, so fault tests control it at the byte level: count every line, stop reading to
// play a slow agent, and check that what the sidecar sends is valid protocol.
import net from 'node:net';
import { decodePeerEvent, encodeIpc, type PeerEvent, type MeshMessage } from '../../mesh/protocol/index.ts';
import { ProbeEvents } from './probe-events.ts';

export class IpcProbe extends ProbeEvents {
  readonly events: PeerEvent[] = [];
  /** lines that did not decode as a PeerEvent: the sidecar broke the protocol */
  readonly invalid: string[] = [];
  private buf = '';
  private waiters = new Set<() => void>();
  /** bytes this probe has read from the socket */
  bytesIn = 0;

  private constructor(
    readonly socket: net.Socket,
    private readonly keepEvents: boolean,
  ) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.bytesIn += chunk.length;
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.trim()) continue;
        const d = decodePeerEvent(line);
        if (!d.ok) {
          this.invalid.push(line.slice(0, 500));
          continue;
        }
        if (this.keepEvents) this.events.push(d.value);
        this.emitEvent(d.value);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.markClosed();
      this.wake();
    });
    socket.on('error', () => {
      /* close follows */
    });
  }

  /** Connects, retrying until the socket exists (the sidecar creates it within a second). */
  static async connect(path: string, opts: { timeoutMs?: number; keepEvents?: boolean } = {}): Promise<IpcProbe> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      try {
        const s = await new Promise<net.Socket>((resolve, reject) => {
          const c = net.connect(path, () => resolve(c));
          c.once('error', reject);
        });
        return new IpcProbe(s, opts.keepEvents ?? true);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`IPC socket ${path} not reachable: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Writes one IPC line; resolves when the kernel took it (false = the socket is backed up). */
  command(type: string, payload: Record<string, unknown>): boolean {
    return this.socket.write(encodeIpc({ type, payload }));
  }

  /** `ackId`: ask the sidecar for an `ack` line (or an `error` carrying it) for this message. */
  send(targetPeer: string, message: MeshMessage, ackId?: string): boolean {
    return this.command('send', { target_peer: targetPeer, message, ...(ackId && { ack_id: ackId }) });
  }

  registerAgent(name: string, skills: string[]): boolean {
    return this.command('register_agent', { name, skills });
  }

  /**
   * Answers `task_request`s for `skill` with `fn(args)` (an agent offering a skill). Register the
   * agent first (registerAgent) so the sidecar routes the skill here.
   */
  serveSkill(skill: string, fn: (args: unknown) => unknown): () => void {
    return this.onEvent((e) => {
      if (e.type !== 'message') return;
      const m = e.payload.message;
      const p = (m.payload ?? {}) as { skill?: string; args?: unknown };
      if (m.type !== 'task_request' || p.skill !== skill) return;
      this.send(e.payload.from_peer, {
        type: 'task_response',
        ...(m.request_id && { request_id: m.request_id }),
        ...(m.source_agent && { target_agent: m.source_agent }),
        payload: { result: fn(p.args) },
      });
    });
  }

  /** Sends a task_request for a skill of its own peer (e.g. the built-in `delegate`) and waits for the task_response payload. */
  async callOwnSkill(ownPeer: string, skill: string, args: unknown, timeoutMs: number): Promise<{ result?: unknown; error?: string }> {
    const requestId = `call-${Math.random().toString(36).slice(2)}`;
    let answer: { result?: unknown; error?: string } | undefined;
    const off = this.onEvent((e) => {
      if (e.type === 'message' && e.payload.message.type === 'task_response' && e.payload.message.request_id === requestId) {
        answer = (e.payload.message.payload ?? {}) as { result?: unknown; error?: string };
      }
    });
    try {
      this.send(ownPeer, { type: 'task_request', request_id: requestId, payload: { skill, args } });
      await this.waitFor(() => answer !== undefined, timeoutMs, `the answer of ${skill}`);
      return answer!;
    } finally {
      off();
    }
  }

  /** Waits until `pred` holds over the received events (or throws with `what` after the deadline). */
  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** Stop reading: the sidecar's writes back up (a slow agent). */
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
