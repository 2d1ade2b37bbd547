/**
 * Keeps this browser's worker agents in the registry: a heartbeat per agent every 15 s (and soon
 * after any change) carrying its skills and this peer's open links (the topology's edges), and
 * runs the tasks the registry's queue hands back (the third tier) on the local agents.
 */
import type { AgentHub, Mesh } from '../../../mesh/index.ts';
import type { RegistryClient } from '../../../mesh/registry-client.ts';
import type { LinkReport, Task } from '../../../mesh/protocol/index.ts';
import { useStore } from '../state/store.ts';
import type { SkillSummary } from '../agents/control.ts';

const EVERY_MS = 15_000;

export class Presence {
  readonly #client: RegistryClient;
  readonly #hub: AgentHub;
  readonly #mesh: Mesh;
  readonly #agents: () => Array<{ id: string; skills: SkillSummary[]; description: string }>;
  /** Agent id → the skill list last registered (a change re-registers, which the dashboard sees at once). */
  readonly #known = new Map<string, string>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #soon: ReturnType<typeof setTimeout> | null = null;
  #running = false;

  constructor(client: RegistryClient, hub: AgentHub, mesh: Mesh, agents: () => Array<{ id: string; skills: SkillSummary[]; description: string }>) {
    this.#client = client;
    this.#hub = hub;
    this.#mesh = mesh;
    this.#agents = agents;
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

  async beat(): Promise<void> {
    if (this.#running) return this.soon();
    this.#running = true;
    try {
      const links: LinkReport[] = Object.values(useStore.getState().mesh.links)
        .filter((l) => l.state === 'open')
        .map((l) => ({ peer_id: l.peer_id, path: l.path === 'http' ? 'unknown' : l.path, ...(l.rtt_ms !== undefined ? { rtt_ms: l.rtt_ms } : {}) }));
      for (const a of this.#agents()) {
        const skillNames = a.skills.map((s) => s.name);
        const key = skillNames.join(',');
        if (this.#known.get(a.id) !== key) {
          await this.#client.registerAgent({
            agent_id: a.id, hostname: browserName(), peer_id: this.#mesh.peerId, sidecar_peer_id: this.#mesh.peerId,
            capabilities: { skills: skillNames, mcp_servers: [], goals_count: 0, mode: 'browser' },
            status: 'active', mode: 'browser', description: a.description,
          });
          this.#known.set(a.id, key);
        }
        const res = await this.#client.heartbeat({
          agent_id: a.id, hostname: browserName(), status: 'active', mode: 'browser',
          skills_count: a.skills.length, skill_names: a.skills.map((s) => s.name),
          sidecar_peer_id: this.#mesh.peerId, peer_id: this.#mesh.peerId, links,
        });
        for (const t of res.pending_tasks) void this.#runQueued(t);
      }
    } catch {
      // The registry is unreachable: the next beat tries again; the event feed shows the stale state.
    } finally {
      this.#running = false;
    }
  }

  /** Removes an agent from the registry when it is stopped here. */
  async forget(id: string): Promise<void> {
    this.#known.delete(id);
    await this.#client.deleteAgent(id).catch(() => {});
  }

  async forgetAll(): Promise<void> {
    await Promise.all([...this.#known.keys()].map((id) => this.forget(id)));
  }

  async #runQueued(t: Task): Promise<void> {
    try {
      const result = await this.#hub.runTask(t.skill, t.payload, { timeoutMs: Math.max(1000, t.ttl * 1000) });
      await this.#client.updateTask(t.id, { state: 'completed', result: result ?? null });
    } catch (e) {
      await this.#client.updateTask(t.id, { state: 'failed', error: (e as Error).message }).catch(() => {});
    }
  }
}

function browserName(): string {
  const ua = navigator.userAgent;
  const m = /(Firefox|Edg|OPR|Chrome|Safari)\/[\d.]+/.exec(ua);
  const os = /Android|iPhone|iPad|Windows|Mac OS X|Linux/.exec(ua)?.[0] ?? '';
  return `browser${m ? ' ' + m[1]!.replace('Edg', 'Edge') : ''}${os ? ' on ' + os : ''}`;
}
