import type { AgentHub } from './agent-hub.ts';
import type { Mesh } from './mesh.ts';
import type { RegistryClient } from './registry-client.ts';
import type { BackedBy, LinkReport, SkillPolicy, SkillSpec, Task } from './protocol/index.ts';
import { checkRequest, queuedRequest } from './policy-guard.ts';
import { PROMPT_SKILL, QueuedPrompt } from './protocol/index.ts';
import { silentLogger, type Logger } from './types.ts';
import { Backoff, sleep } from './backoff.ts';
import { recordId } from './agent-records.ts';
import { errorStatus } from './error-fields.ts';

export interface PresenceAgent {
  name: string;
  skills: SkillSpec[];
  description?: string;
  backedBy?: BackedBy;
}

export interface RegistryPresenceOptions {
  registry: RegistryClient;
  mesh: Mesh;
  hub: AgentHub;
  /** What the registry shows as the records' host (the machine, or the browser and its OS). */
  hostname: string;
  mode: 'sidecar' | 'browser';
  intervalMs: number;
  /** The named agents to list; default: the hub's named agents. */
  agents?: () => PresenceAgent[];
  /** Follow the registry's event stream to claim queued tasks at once. A tab that already reads
   *  the stream passes false and forwards task events to `taskAnnounced`. */
  watchTasks?: boolean;
  /** The skill policy this peer holds: a queued task runs only if its submitter may call the skill. */
  policy?: () => SkillPolicy | undefined;
  /** The registry's `policy` event (when this presence reads the event stream): apply it at once. */
  onPolicy?: (policy: SkillPolicy) => void;
  logger?: Logger;
}

interface RecordSpec {
  agent_id: string;
  skills: string[];
  specs: SkillSpec[];
  target?: string;
  description: string;
  backedBy?: BackedBy;
}

/**
 * Keeps a peer in the registry and takes work from it — the same for a sidecar and a tab.
 * Records: one for the peer (agent_id = peer id, every skill on the hub) and one per named
 * agent (`name@peer`). Each heartbeat carries the skills and the open links (the topology's
 * edges) and returns the queued tasks held for this peer (the third tier), which run on the hub;
 * results go back with POST /api/hub/tasks/:id.
 */
export class RegistryPresence {
  readonly #o: RegistryPresenceOptions;
  readonly #log: Logger;
  readonly #createdAt = Date.now();
  /** agent_id → the skill specs last registered; a change re-registers (the dashboard sees it at once). */
  readonly #known = new Map<string, string>();
  /** Queued tasks running here → their abort (the registry marks a task failed when its requester cancels). */
  readonly #running = new Map<string, AbortController>();
  readonly #events = new AbortController();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #inFlight: Promise<void> | null = null;
  #busy = false;
  #again = false;
  #cleaned = false;
  #started = false;
  #stopped = false;

  constructor(opts: RegistryPresenceOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    opts.hub.events.on('agents_changed', () => this.kick());
  }

  start(): void {
    this.#started = true;
    void this.#loop();
    if (this.#o.watchTasks !== false) void this.#watchTasks();
  }

  /**
   * Heartbeat now (agents changed, signaling back); a burst during a beat adds one more. Before
   * start() it does nothing: a first beat then would drop the records of agents still starting.
   */
  kick(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    void this.#loop();
  }

  /** A task event from the registry: a pending one for our records is claimed at once. */
  taskAnnounced(t: Partial<Task>): void {
    // Finished elsewhere while it runs here: cancelled by its requester (or expired): stop the work.
    if ((t.state === 'failed' || t.state === 'completed') && t.id) return void this.#running.get(t.id)?.abort(new Error(t.error || 'finished elsewhere'));
    if (t.state !== 'pending') return;
    const ours = this.#records().some((r) => r.agent_id === t.target_agent_id || (!!t.skill && r.skills.includes(t.skill)));
    if (ours) this.kick();
  }

  /**
   * Stops heartbeats and removes this peer's records (clean shutdown, sign-out). `removeRecords`
   * false: the registry removed them itself (a revoked peer) and would refuse the requests anyway.
   */
  async stop(removeRecords = true): Promise<void> {
    this.#stopped = true;
    this.#events.abort(new Error('stopped'));
    if (this.#timer) clearTimeout(this.#timer);
    await this.#inFlight?.catch(() => {});
    if (!removeRecords) return;
    const ids = new Set([...this.#known.keys(), ...this.#records().map((r) => r.agent_id)]);
    this.#known.clear();
    await Promise.all([...ids].map((id) => this.#remove(id)));
  }

  #records(): RecordSpec[] {
    const { mesh, hub, mode } = this.#o;
    const me = mesh.peerId;
    const agents: PresenceAgent[] =
      this.#o.agents?.() ?? hub.agents().flatMap((a) => (a.name ? [{ name: a.name, skills: a.skills, ...(a.backedBy && { backedBy: a.backedBy }) }] : []));
    const all = new Map<string, SkillSpec>();
    for (const s of [...hub.skills(), ...agents.flatMap((a) => a.skills)]) if (!all.has(s.name)) all.set(s.name, s);
    const record = (agent_id: string, specs: SkillSpec[]) => ({ agent_id, skills: specs.map((s) => s.name), specs });
    return [
      { ...record(me, [...all.values()]), description: mode === 'browser' ? `browser peer ${me}` : `chatixia-sidecar ${me}` },
      ...agents.map((a) => ({
        ...record(recordId(a.name, me), a.skills),
        target: a.name,
        description:
          a.description ??
          (a.backedBy
            ? `${a.backedBy.protocol === 'mcp' ? 'MCP server' : 'A2A agent'} ${a.name} (${a.backedBy.source}) on ${me}`
            : `agent ${a.name} on ${mode} ${me}`),
        ...(a.backedBy && { backedBy: a.backedBy }),
      })),
    ];
  }

  async #loop(): Promise<void> {
    if (this.#stopped || this.#busy) return;
    this.#busy = true;
    do {
      this.#again = false;
      try {
        this.#inFlight = this.#beat();
        await this.#inFlight;
      } catch (err) {
        // The registry is unreachable or restarting: the next beat tries again.
        this.#log.warn(`[registry] heartbeat failed: ${(err as Error).message}`);
      }
    } while (this.#again && !this.#stopped);
    this.#busy = false;
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#loop();
    }, this.#o.intervalMs);
  }

  async #beat(): Promise<void> {
    const { registry, mesh, hostname, mode } = this.#o;
    const links: LinkReport[] = (await mesh.linkStats())
      .filter((l) => l.state === 'open')
      .map((l) => ({ peer_id: l.peer_id, path: l.path, ...(l.rtt_ms !== undefined && { rtt_ms: Math.round(l.rtt_ms * 10) / 10 }) }));
    const me = mesh.peerId;
    const records = this.#records();
    if (!this.#cleaned) {
      // Records an earlier run of this peer left behind (a crash, a closed tab) would attract tasks nobody runs.
      const mine = (await registry.listAgents()).filter((r) => r.peer_id === me);
      for (const r of mine) if (!records.some((x) => x.agent_id === r.agent_id)) await this.#remove(r.agent_id);
      this.#cleaned = true;
    }
    for (const r of records) {
      if (this.#stopped) return;
      const skills = JSON.stringify([r.specs, r.backedBy]);
      if (this.#known.get(r.agent_id) !== skills) {
        await registry.registerAgent({
          agent_id: r.agent_id,
          hostname,
          sidecar_peer_id: me,
          peer_id: me,
          capabilities: {
            skills: r.skills,
            skill_specs: r.specs,
            goals_count: 0,
            mode,
            mcp_servers: r.backedBy?.protocol === 'mcp' && r.target ? [r.target] : [],
            ...(r.backedBy && { backed_by: r.backedBy }),
          },
          status: 'active',
          mode,
          description: r.description,
        });
        if (!this.#known.has(r.agent_id)) this.#log.info(`[registry] registered agent record ${r.agent_id}`);
        this.#known.set(r.agent_id, skills);
      }
      const res = await registry.heartbeat({
        agent_id: r.agent_id,
        hostname,
        status: 'active',
        mode,
        skills_count: r.skills.length,
        skill_names: r.skills,
        uptime_seconds: Math.round((Date.now() - this.#createdAt) / 1000),
        sidecar_peer_id: me,
        peer_id: me,
        links,
      });
      for (const t of res.pending_tasks ?? []) void this.#run(t, r.target);
    }
    // Agents that left: drop their records so routing stops choosing them.
    const live = new Set(records.map((r) => r.agent_id));
    for (const id of [...this.#known.keys()]) {
      if (!live.has(id)) {
        this.#known.delete(id);
        await this.#remove(id);
      }
    }
  }

  async #remove(id: string): Promise<void> {
    await this.#o.registry.deleteAgent(id).then(
      () => this.#log.info(`[registry] removed agent record ${id}`),
      (e) => {
        if (errorStatus(e) !== 404) this.#log.warn(`[registry] could not remove agent record ${id}: ${(e as Error).message}`);
      },
    );
  }

  async #run(task: Task, targetAgent: string | undefined): Promise<void> {
    if (this.#running.has(task.id)) return;
    const abort = new AbortController();
    this.#running.set(task.id, abort);
    // Streamed pieces go to the registry in order (its A2A and MCP doors pass them on).
    let chunks = Promise.resolve();
    const onChunk = (text: string) => {
      chunks = chunks
        .then(() => registry.taskChunk(task.id, text))
        .catch((e) => this.#log.debug(`[registry] chunk of task ${task.id} not delivered: ${(e as Error).message}`));
    };
    const { registry, hub } = this.#o;
    const payload = (task.payload ?? {}) as Record<string, unknown>;
    const skill = task.skill || (typeof payload.skill === 'string' ? payload.skill : '');
    try {
      if (!skill) throw new Error('task has no skill');
      // Policy enforced here too, where the skill runs: the submitter must be allowed the skill.
      const { msg, requester } = queuedRequest(task, skill);
      const d = checkRequest(this.#o.policy?.(), requester, msg);
      if (!d.allowed) throw new Error(`forbidden: ${d.reason}`);
      this.#log.info(`[registry] running queued task ${task.id} (${skill})`);
      const run = {
        timeoutMs: Math.max(1000, task.ttl * 1000),
        ...(targetAgent && { targetAgent }),
        ...(task.source_agent_id && { sourceAgent: task.source_agent_id }),
        onChunk,
        signal: abort.signal,
      };
      const result = skill === PROMPT_SKILL ? await hub.runPrompt(promptText(task.payload), run) : await hub.runTask(skill, task.payload, run);
      await chunks;
      await registry.updateTask(task.id, { state: 'completed', result: result ?? null });
    } catch (err) {
      if (abort.signal.aborted) return; // the registry already finished it
      await chunks;
      await registry
        .updateTask(task.id, { state: 'failed', error: String((err as Error).message ?? err).slice(0, 60_000) })
        .catch((e) => this.#log.warn(`[registry] could not report task ${task.id}: ${(e as Error).message}`));
    } finally {
      this.#running.delete(task.id);
    }
  }

  /**
   * Queued tasks are claimed at once instead of at the next heartbeat: the event stream announces
   * every new task. It reconnects with backoff; heartbeats stay the fallback.
   */
  async #watchTasks(): Promise<void> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    while (!this.#stopped) {
      try {
        await this.#o.registry.events((e) => {
          if (e.type === 'policy') return this.#o.onPolicy?.(e.data);
          if (e.type !== 'tasks') return;
          backoff.reset();
          this.taskAnnounced(e.data);
        }, this.#events.signal);
      } catch (err) {
        if (this.#stopped) return;
        this.#log.debug(`[registry] event stream: ${(err as Error).message}`);
      }
      if (this.#stopped) return;
      await sleep(backoff.next(), this.#events.signal).catch(() => {});
    }
  }
}

function promptText(payload: unknown): string {
  const p = QueuedPrompt.safeParse(payload);
  if (!p.success) throw new Error('a queued prompt needs {"text": "…"}');
  return p.data.text;
}
