/**
 * Keeps this browser in the registry the way a sidecar keeps itself there: a record for the peer
 * (agent_id = peer id, all its skills) and one per worker agent (`name@peer`). Each heartbeat
 * (every 15 s, and soon after any change) carries the skills and this peer's open links — the
 * topology's edges — and returns the tasks the registry's queue holds for it (the third tier),
 * which run on the local agents.
 */
import type { AgentHub, Mesh } from '../../../mesh/index.ts';
import type { RegistryClient } from '../../../mesh/registry-client.ts';
import type { LinkReport, Task } from '../../../mesh/protocol/index.ts';
import { useStore } from '../state/store.ts';
import { recordId } from '../lib/agent-names.ts';

const EVERY_MS = 15_000;

interface WorkerInfo { id: string; skills: Array<{ name: string }>; description: string }
interface RecordSpec { agent_id: string; skills: string[]; target?: string; description: string }

export class Presence {
  readonly #client: RegistryClient;
  readonly #hub: AgentHub;
  readonly #mesh: Mesh;
  readonly #workers: () => WorkerInfo[];
  /** agent_id → the skill list last registered (a change re-registers, which the dashboard sees at once). */
  readonly #known = new Map<string, string>();
  readonly #running = new Set<string>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #soon: ReturnType<typeof setTimeout> | null = null;
  #busy = false;

  constructor(client: RegistryClient, hub: AgentHub, mesh: Mesh, workers: () => WorkerInfo[]) {
    this.#client = client;
    this.#hub = hub;
    this.#mesh = mesh;
    this.#workers = workers;
  }

  start(): void {
    this.#timer = setInterval(() => void this.beat(), EVERY_MS);
    void this.beat();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#timer = this.#soon = null;
  }

  /** A heartbeat shortly (coalesces bursts of changes). */
  soon(): void {
    this.#soon ??= setTimeout(() => { this.#soon = null; void this.beat(); }, 250);
  }

  #records(): RecordSpec[] {
    const me = this.#mesh.peerId;
    const workers = this.#workers();
    const all = [...new Set(workers.flatMap((w) => w.skills.map((s) => s.name)))];
    return [
      { agent_id: me, skills: all, description: `browser peer ${me}` },
      ...workers.map((w) => ({ agent_id: recordId(w.id, me), skills: w.skills.map((s) => s.name), target: w.id, description: w.description })),
    ];
  }

  async beat(): Promise<void> {
    if (this.#busy) return this.soon();
    this.#busy = true;
    const me = this.#mesh.peerId;
    try {
      const links: LinkReport[] = Object.values(useStore.getState().mesh.links)
        .filter((l) => l.state === 'open')
        .map((l) => ({ peer_id: l.peer_id, path: l.path === 'http' ? 'unknown' : l.path, ...(l.rtt_ms !== undefined ? { rtt_ms: l.rtt_ms } : {}) }));
      const records = this.#records();
      for (const r of records) {
        const key = r.skills.join(',');
        if (this.#known.get(r.agent_id) !== key) {
          await this.#client.registerAgent({
            agent_id: r.agent_id, hostname: browserName(), peer_id: me, sidecar_peer_id: me,
            capabilities: { skills: r.skills, mcp_servers: [], goals_count: 0, mode: 'browser' },
            status: 'active', mode: 'browser', description: r.description,
          });
          this.#known.set(r.agent_id, key);
        }
        const res = await this.#client.heartbeat({
          agent_id: r.agent_id, hostname: browserName(), status: 'active', mode: 'browser',
          skills_count: r.skills.length, skill_names: r.skills, sidecar_peer_id: me, peer_id: me, links,
        });
        for (const t of res.pending_tasks) void this.#runQueued(t, r.target);
      }
      // Agents that stopped here: drop their records so routing stops choosing them.
      const live = new Set(records.map((r) => r.agent_id));
      for (const id of [...this.#known.keys()]) if (!live.has(id)) await this.#forget(id);
    } catch {
      // The registry is unreachable: the next beat tries again; the event feed shows the stale state.
    } finally {
      this.#busy = false;
    }
  }

  async #forget(id: string): Promise<void> {
    this.#known.delete(id);
    await this.#client.deleteAgent(id).catch(() => {});
  }

  /** Removes every record of this browser (sign-out). */
  async forgetAll(): Promise<void> {
    await Promise.all([...this.#known.keys()].map((id) => this.#forget(id)));
  }

  async #runQueued(t: Task, targetAgent: string | undefined): Promise<void> {
    if (this.#running.has(t.id)) return;
    this.#running.add(t.id);
    try {
      const result = await this.#hub.runTask(t.skill, t.payload, { timeoutMs: Math.max(1000, t.ttl * 1000), ...(targetAgent ? { targetAgent } : {}) });
      await this.#client.updateTask(t.id, { state: 'completed', result: result ?? null });
    } catch (e) {
      await this.#client.updateTask(t.id, { state: 'failed', error: (e as Error).message }).catch(() => {});
    } finally {
      this.#running.delete(t.id);
    }
  }
}

function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(Firefox|Edg|OPR|Chrome|Safari)\/[\d.]+/.exec(ua);
  const os = /Android|iPhone|iPad|Windows|Mac OS X|Linux/.exec(ua)?.[0] ?? '';
  return `browser${m ? ' ' + m[1]!.replace('Edg', 'Edge') : ''}${os ? ' on ' + os : ''}`;
}
