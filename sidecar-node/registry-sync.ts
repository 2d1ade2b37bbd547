import { hostname as osHostname } from 'node:os';
import type { AgentHub } from '../mesh/agent-hub.ts';
import type { Mesh } from '../mesh/mesh.ts';
import type { RegistryClient } from '../mesh/registry-client.ts';
import type { Heartbeat, LinkReport, Task } from '../mesh/protocol/index.ts';
import type { Logger } from '../mesh/types.ts';
import { Backoff, sleep } from '../mesh/backoff.ts';

/**
 * Keeps the registry informed and takes work from it. Records: one for the peer itself
 * (agent_id = peer id, the built-in skills plus every local agent's) and one per registered local
 * agent (`name@peer`). Each heartbeat carries skills and the open links (topology edges), and
 * returns queued tasks, which run on the hub; results go back with POST /api/hub/tasks/:id.
 */
export class RegistrySync {
  readonly #started = Date.now();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  #known = new Set<string>();
  #running = new Set<string>();
  #inFlight: Promise<void> | null = null;
  #busy = false;
  #cleaned = false;
  readonly #events = new AbortController();
  #again = false;
  readonly #host: string;

  constructor(
    private readonly registry: RegistryClient,
    private readonly mesh: Mesh,
    private readonly hub: AgentHub,
    private readonly intervalMs: number,
    private readonly log: Logger,
    host?: string,
  ) {
    this.#host = host ?? osHostname();
    hub.events.on('agents_changed', () => this.kick());
  }

  start(): void {
    void this.#loop();
    void this.#watchTasks();
  }

  /**
   * Queued tasks for this peer are picked up at once instead of at the next heartbeat: the
   * registry's event stream announces every new task, and one for our agents or skills triggers
   * a heartbeat (which claims it). The stream reconnects with backoff; heartbeats stay the fallback.
   */
  async #watchTasks(): Promise<void> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    while (!this.#stopped) {
      try {
        await this.registry.events((e) => {
          if (e.type !== 'tasks') return;
          backoff.reset();
          const t = e.data as Partial<Task>;
          if (t.state !== 'pending') return;
          const records = this.#records();
          const mine = records.some((r) => r.agent_id === t.target_agent_id || (!!t.skill && r.skills.includes(t.skill)));
          if (mine) this.kick();
        }, this.#events.signal);
      } catch (err) {
        if (this.#stopped) return;
        this.log.debug(`[registry] event stream: ${(err as Error).message}`);
      }
      if (this.#stopped) return;
      await sleep(backoff.next(), this.#events.signal).catch(() => {});
    }
  }

  /** Heartbeat now (agents changed, signaling back). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#loop();
  }

  #records(): { agent_id: string; skills: string[]; target?: string }[] {
    const me = this.mesh.peerId;
    const all = { agent_id: me, skills: this.hub.skills().map((s) => s.name) };
    const named = this.hub
      .agents()
      .filter((a) => a.name)
      .map((a) => ({ agent_id: `${a.name}@${me}`, skills: a.skills.map((s) => s.name), target: a.name! }));
    return [all, ...named];
  }

  async #loop(): Promise<void> {
    if (this.#stopped || this.#busy) return;
    this.#busy = true;
    do {
      this.#again = false;
      try {
        this.#inFlight = this.beat();
        await this.#inFlight;
      } catch (err) {
        this.log.warn(`[registry] heartbeat failed: ${(err as Error).message}`);
      }
    } while (this.#again && !this.#stopped);
    this.#busy = false;
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#loop();
    }, this.intervalMs);
  }

  async beat(): Promise<void> {
    const links: LinkReport[] = (await this.mesh.linkStats())
      .filter((l) => l.state === 'open')
      .map((l) => ({ peer_id: l.peer_id, path: l.path, ...(l.rtt_ms !== undefined && { rtt_ms: Math.round(l.rtt_ms * 10) / 10 }) }));
    const me = this.mesh.peerId;
    const records = this.#records();
    if (!this.#cleaned) {
      // Records a crashed earlier run of this peer left behind would attract tasks nobody runs.
      const mine = (await this.registry.listAgents()).filter((r) => r.peer_id === me);
      for (const r of mine) if (!records.some((x) => x.agent_id === r.agent_id)) await this.registry.deleteAgent(r.agent_id).catch(() => {});
      this.#cleaned = true;
    }
    for (const r of records) {
      if (this.#stopped) return;
      if (!this.#known.has(r.agent_id)) {
        await this.registry.registerAgent({
          agent_id: r.agent_id,
          hostname: this.#host,
          sidecar_peer_id: me,
          peer_id: me,
          capabilities: { skills: r.skills, mcp_servers: [], goals_count: 0, mode: 'sidecar' },
          status: 'active',
          mode: 'sidecar',
          description: r.target ? `agent ${r.target} on sidecar ${me}` : `chatixia-sidecar ${me}`,
        });
        this.#known.add(r.agent_id);
        this.log.info(`[registry] registered agent record ${r.agent_id}`);
      }
      const hb: Heartbeat = {
        agent_id: r.agent_id,
        hostname: this.#host,
        status: 'active',
        mode: 'sidecar',
        skills_count: r.skills.length,
        uptime_seconds: Math.round((Date.now() - this.#started) / 1000),
        skill_names: r.skills,
        sidecar_peer_id: me,
        peer_id: me,
        links,
      };
      const res = await this.registry.heartbeat(hb);
      for (const t of res.pending_tasks ?? []) void this.#run(t, r.target);
    }
    // Agents that left: drop their records so routing stops choosing them.
    const live = new Set(records.map((r) => r.agent_id));
    for (const id of [...this.#known]) {
      if (!live.has(id)) {
        this.#known.delete(id);
        await this.registry.deleteAgent(id).catch(() => {});
      }
    }
  }

  async #run(task: Task, targetAgent: string | undefined): Promise<void> {
    if (this.#running.has(task.id)) return;
    this.#running.add(task.id);
    const payload = (task.payload ?? {}) as Record<string, unknown>;
    const skill = task.skill || (typeof payload.skill === 'string' ? payload.skill : '');
    try {
      if (!skill) throw new Error('task has no skill');
      this.log.info(`[registry] running queued task ${task.id} (${skill})`);
      const result = await this.hub.runTask(skill, task.payload, {
        timeoutMs: Math.max(1000, task.ttl * 1000),
        ...(targetAgent && { targetAgent }),
        ...(task.source_agent_id && { sourceAgent: task.source_agent_id }),
      });
      await this.registry.updateTask(task.id, { state: 'completed', result: result ?? null });
    } catch (err) {
      await this.registry
        .updateTask(task.id, { state: 'failed', error: String((err as Error).message ?? err).slice(0, 60_000) })
        .catch((e) => this.log.warn(`[registry] could not report task ${task.id}: ${(e as Error).message}`));
    } finally {
      this.#running.delete(task.id);
    }
  }

  /** Stops heartbeats and removes this peer's records (clean shutdown). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#events.abort(new Error('stopped'));
    if (this.#timer) clearTimeout(this.#timer);
    await this.#inFlight?.catch(() => {});
    const ids = new Set([...this.#known, ...this.#records().map((r) => r.agent_id)]);
    await Promise.all(
      [...ids].map((id) =>
        this.registry.deleteAgent(id).then(
          () => this.log.info(`[registry] removed agent record ${id}`),
          (e) => {
            if ((e as { status?: number }).status !== 404) this.log.warn(`[registry] could not remove agent record ${id}: ${(e as Error).message}`);
          },
        ),
      ),
    );
    this.#known.clear();
  }
}
