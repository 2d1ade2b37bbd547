import { MeshError } from '../mesh.ts';
import { isOpenStreamChunk, payloadOf, type MeshMessage } from '../protocol/index.ts';

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

interface Waiter {
  resolve: (m: MeshMessage) => void;
  onChunk?: ((m: MeshMessage) => void) | undefined;
}

/**
 * The requests the hub sends to this peer's own agents or built-ins (runTask, runPrompt): each
 * waits for its answer with a timeout, passes streamed pieces on, and sends `cancel` when its
 * signal aborts.
 */
export class HubRuns {
  /** request_id → hub-initiated local request. */
  readonly #waiters = new Map<string, Waiter>();

  /** Whether `requestId` is a run of the hub (its answer goes back here, not to an agent). */
  has(requestId: string): boolean {
    return this.#waiters.has(requestId);
  }

  /** Hands a reply to the run it answers; false when `requestId` is no run of the hub. */
  deliver(requestId: string, msg: MeshMessage): boolean {
    const w = this.#waiters.get(requestId);
    if (!w) return false;
    if (isOpenStreamChunk(msg)) w.onChunk?.(msg);
    else w.resolve(msg);
    return true;
  }

  /** Routes `msg` (through `route`, from this peer) and resolves with its answer. */
  async start(msg: MeshMessage, what: string, opts: RunOptions, defaultTimeoutMs: number, route: (m: MeshMessage) => void): Promise<MeshMessage> {
    const requestId = msg.request_id!;
    if (opts.sourceAgent) msg.source_agent = opts.sourceAgent;
    if (opts.targetAgent) msg.target_agent = opts.targetAgent;
    const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
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
        route({
          type: 'cancel',
          request_id: requestId,
          ...(opts.targetAgent && { target_agent: opts.targetAgent }),
          payload: { reason: 'the requester cancelled' },
        });
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
      route(msg);
    });
  }
}
