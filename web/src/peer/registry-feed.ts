/**
 * The registry's live events (GET /api/events, SSE read by RegistryClient) into the store:
 * agents, tasks and topology are pushed, never polled. Reconnects with backoff; while it is down
 * the dashboard is marked stale.
 */
import { Backoff } from '../../../mesh/index.ts';
import type { RegistryClient } from '../../../mesh/registry-client.ts';
import type { AgentRecord, RegistryEvent, SkillPolicy, Task, Topology } from '../../../mesh/protocol/index.ts';
import { useStore } from '../state/store.ts';
import type { AgentView, EdgeView, TaskView } from '../state/views.ts';
import { settleDispatch } from './dispatch.ts';

const MAX_TASKS = 100;

export const toAgentView = (a: AgentRecord): AgentView => ({
  agent_id: a.agent_id,
  peer_id: a.peer_id || a.sidecar_peer_id,
  hostname: a.hostname,
  health: a.health,
  skills: a.capabilities?.skills ?? [],
  mode: a.mode,
  ...(a.capabilities?.backed_by && { backedBy: a.capabilities.backed_by }),
  ...(a.capabilities?.skill_specs?.length && { specs: Object.fromEntries(a.capabilities.skill_specs.map(({ name, ...about }) => [name, about])) }),
});

const text = (v: unknown) => (v === undefined || v === null || v === '' ? '' : typeof v === 'string' ? v : JSON.stringify(v));
export const toTaskView = (t: Task): TaskView => ({
  id: t.id,
  skill: t.skill,
  target_agent_id: t.target_agent_id,
  source_agent_id: t.source_agent_id,
  assigned_agent_id: t.assigned_agent_id,
  state: t.state,
  result: text(t.result),
  error: t.error,
  created_at: t.created_at,
  updated_at: t.updated_at,
});

function topologyView(t: Topology): { edges: EdgeView[]; peers: Array<{ peer_id: string; health: string }> } {
  const peers = new Map<string, string>();
  for (const n of t.nodes) {
    const id = n.peer_id || n.sidecar_peer_id;
    if (id && (!peers.has(id) || n.health === 'active')) peers.set(id, n.health);
  }
  for (const p of t.signaling_peers ?? []) peers.set(p, 'active');
  return {
    edges: t.mesh_edges.map((e) => ({ from: e.from_peer, to: e.to_peer, path: e.path, rtt_ms: e.rtt_ms })),
    peers: [...peers].map(([peer_id, health]) => ({ peer_id, health })),
  };
}

export class RegistryFeed {
  readonly #client: RegistryClient;
  #abort: AbortController | null = null;
  #wake: (() => void) | null = null;
  readonly #taskWaiters = new Map<string, (t: Task) => void>();
  /** Tasks that finished recently: the event may arrive before the submitter starts waiting. */
  readonly #finished = new Map<string, Task>();

  readonly #onTask: (t: Task) => void;
  readonly #onPolicy: (p: SkillPolicy) => void;

  constructor(client: RegistryClient, onTask: (t: Task) => void = () => {}, onPolicy: (p: SkillPolicy) => void = () => {}) {
    this.#client = client;
    this.#onTask = onTask;
    this.#onPolicy = onPolicy;
  }

  start(): void {
    const abort = (this.#abort = new AbortController());
    // At most ~4 s apart (full jitter): the dashboard is live again within seconds of the registry.
    const backoff = new Backoff({ initialMs: 500, maxMs: 4000 });
    const store = useStore.getState;
    void (async () => {
      while (!abort.signal.aborted) {
        try {
          // Tasks come as single updates; the first screen needs the recent ones.
          const tasks = await this.#client.listTasks({ limit: 50 }).catch(() => null);
          if (tasks) {
            store().setRegistry({ tasks: tasks.map(toTaskView) });
            tasks.forEach(settleDispatch);
          }
          let first = true;
          await this.#client.events((e) => {
            if (first) {
              first = false;
              backoff.reset();
              store().setRegistry({ live: true });
              store().setNet({ stale: false });
            }
            this.#apply(e);
          }, abort.signal);
        } catch (e) {
          if (abort.signal.aborted) return;
          void e;
        }
        if (abort.signal.aborted) return;
        store().setRegistry({ live: false });
        store().setNet({ stale: true });
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff.next());
          this.#wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.#wake = null;
      }
    })();
  }

  /** Tries again now instead of at the next backoff step (the network came back, the page is visible). */
  retryNow(): void {
    this.#wake?.();
  }

  stop(): void {
    this.#abort?.abort();
    this.#abort = null;
  }

  /** Resolves when the task reaches completed/failed (from the event stream; no polling). */
  waitForTask(id: string, timeoutMs: number): Promise<Task> {
    const done = this.#finished.get(id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#taskWaiters.delete(id);
        reject(new Error(`task ${id} did not finish within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.#taskWaiters.set(id, (task) => {
        clearTimeout(t);
        this.#taskWaiters.delete(id);
        resolve(task);
      });
    });
  }

  #apply(e: RegistryEvent): void {
    const store = useStore.getState;
    const at = Date.now();
    switch (e.type) {
      case 'agents':
        store().setRegistry({ agents: e.data.map(toAgentView), updatedAt: at });
        return;
      case 'topology':
        store().setRegistry({ ...topologyView(e.data), updatedAt: at });
        return;
      case 'tasks': {
        this.#onTask(e.data);
        settleDispatch(e.data);
        const v = toTaskView(e.data);
        const list = store().registry.tasks.filter((t) => t.id !== v.id);
        store().setRegistry({ tasks: [v, ...list].slice(0, MAX_TASKS), updatedAt: at });
        if (e.data.state === 'completed' || e.data.state === 'failed') {
          this.#finished.set(e.data.id, e.data);
          if (this.#finished.size > 200) this.#finished.delete(this.#finished.keys().next().value!);
          this.#taskWaiters.get(e.data.id)?.(e.data);
        }
        return;
      }
      case 'policy':
        // Applied at once: the tab's agents check requests against it (mesh/policy-guard.ts).
        this.#onPolicy(e.data);
        return;
      default:
        return;
    }
  }
}
