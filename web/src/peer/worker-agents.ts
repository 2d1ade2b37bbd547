/**
 * The tab's worker agents: one Web Worker per agent, attached to the mesh core's AgentHub like a
 * sidecar agent on its Unix socket (the worker speaks the same IPC lines over postMessage).
 * A watchdog bounds every skill run: a worker stuck in a skill past its time limit is terminated,
 * the requester gets an error, and the agent restarts — the page never freezes because the loop
 * runs on the worker's thread, not the page's.
 */
import { attachPort, type AgentHub, type AttachedAgent, type Mesh } from '../../../mesh/index.ts';
import { idb } from '../lib/idb.ts';
import { useStore } from '../state/store.ts';
import type { LocalAgentView } from '../state/views.ts';
import type { BuiltinAgentKind } from '../state/actions.ts';
import { BUILTIN_AGENTS } from '../agents/builtins.ts';
import {
  MAX_SKILL_MS,
  WATCHDOG_SLACK_MS,
  llmKeyName,
  llmMemoryName,
  type CustomSkill,
  type HostToWorker,
  type SkillSummary,
  type WorkerToHost,
} from '../agents/control.ts';
import { parseDefinition, type LlmAgentDefinition, type LlmAgentDefinitionInput } from '../../../mesh/llm/definition.ts';

const CONFIG_KEY = 'worker-agents';
const MAX_QUICK_RESTARTS = 5;

interface AgentConfig {
  id: string;
  kind: BuiltinAgentKind | 'llm';
  custom: CustomSkill[];
  running: boolean;
  llm?: LlmAgentDefinition | undefined;
}

interface Running {
  worker: Worker;
  attached: AttachedAgent;
  detach: () => void;
  runs: Map<number, ReturnType<typeof setTimeout>>;
  skills: SkillSummary[];
  ready: boolean;
  /** Settles when the worker announced its skills, or stopped before it did. */
  settled: Promise<void>;
  settle: () => void;
  pendingSkill?: { name: string; resolve: () => void; reject: (e: Error) => void } | undefined;
}

export class WorkerAgents {
  readonly #hub: AgentHub;
  readonly #mesh: Mesh;
  readonly #configs = new Map<string, AgentConfig>();
  readonly #running = new Map<string, Running>();
  readonly #views = new Map<string, LocalAgentView>();
  readonly #onChange: () => void;

  constructor(hub: AgentHub, mesh: Mesh, onChange: () => void) {
    this.#hub = hub;
    this.#mesh = mesh;
    this.#onChange = onChange;
  }

  /** Starts the agents saved in IndexedDB (those that were running when the tab closed). */
  async restore(): Promise<void> {
    const saved = (await idb.get<AgentConfig[]>(CONFIG_KEY)) ?? [];
    for (const c of saved) {
      if (c.kind !== 'llm' && !BUILTIN_AGENTS[c.kind]) continue;
      this.#configs.set(c.id, c);
      this.#view(c.id, { id: c.id, kind: c.kind, status: c.running ? 'starting' : 'stopped', skills: [], restarts: 0 });
      if (c.running) this.#spawn(c.id);
    }
    this.#publish();
  }

  /**
   * Resolves when every agent being started has announced its skills (or stopped): a task queued
   * for one of them must not be sent before the hub knows the skill. Bounded: a worker that never
   * loads does not hold the rest back.
   */
  async started(timeoutMs = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#running.values()].map((r) => r.settled)),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  async hasSaved(): Promise<boolean> {
    return ((await idb.get<AgentConfig[]>(CONFIG_KEY)) ?? []).length > 0;
  }

  /** Names and skills of running agents (for registry heartbeats). */
  list(): Array<{ id: string; skills: SkillSummary[]; description: string }> {
    return [...this.#running.entries()].filter(([, r]) => r.ready).map(([id, r]) => ({ id, skills: r.skills, description: describe(this.#configs.get(id)!) }));
  }

  /**
   * Adds an LLM agent (its key was already put in IndexedDB under llmKeyName(name) by the page
   * the person typed it in; it is never part of the definition, a message or the registry).
   */
  async startLlm(input: LlmAgentDefinitionInput): Promise<string> {
    const def = parseDefinition(input);
    if (this.#configs.has(def.name)) throw new Error(`an agent named ${def.name} already runs in this browser; choose another name`);
    this.#configs.set(def.name, { id: def.name, kind: 'llm', custom: [], running: true, llm: def });
    this.#view(def.name, { id: def.name, kind: `LLM · ${def.provider.kind} ${def.provider.model}`, status: 'starting', skills: [], restarts: 0 });
    this.#spawn(def.name);
    await this.#save();
    return def.name;
  }

  async start(kind: BuiltinAgentKind): Promise<string> {
    if (!BUILTIN_AGENTS[kind]) throw new Error(`unknown agent kind ${kind}`);
    // Names are unique within this browser; the registry record is `name@peer` (mesh/registry-presence.ts).
    let id: string = kind;
    for (let n = 2; this.#configs.has(id); n++) id = `${kind}-${n}`;
    this.#configs.set(id, { id, kind, custom: [], running: true });
    this.#view(id, { id, kind, status: 'starting', skills: [], restarts: 0 });
    this.#spawn(id);
    await this.#save();
    return id;
  }

  async stop(id: string): Promise<void> {
    const c = this.#need(id);
    c.running = false;
    this.#kill(id);
    this.#view(id, { status: 'stopped' });
    await this.#save();
  }

  async restart(id: string): Promise<void> {
    const c = this.#need(id);
    c.running = true;
    this.#kill(id);
    this.#view(id, { status: 'starting', lastError: undefined });
    this.#spawn(id);
    await this.#save();
  }

  async remove(id: string): Promise<void> {
    this.#kill(id);
    if (this.#configs.get(id)?.kind === 'llm') await Promise.all([idb.del(llmKeyName(id)), idb.del(llmMemoryName(id))]);
    this.#configs.delete(id);
    this.#views.delete(id);
    this.#publish();
    await this.#save();
  }

  /** Compiles the skill inside the agent's worker first; saved only if it compiles. */
  async addSkill(id: string, skill: CustomSkill): Promise<void> {
    const c = this.#need(id);
    if (!/^[\w.:-]{1,64}$/.test(skill.name)) throw new Error('skill names use letters, digits, . _ : - (up to 64)');
    if (c.kind === 'llm') throw new Error(`${id} is an LLM agent: its tools are the mesh's skills`);
    if (BUILTIN_AGENTS[c.kind]!.skills.some((s) => s.name === skill.name)) throw new Error(`${skill.name} is a built-in skill of ${id}`);
    const timeoutMs = Math.max(50, Math.min(MAX_SKILL_MS, Math.round(skill.timeoutMs) || 2000));
    const s = { ...skill, timeoutMs };
    const r = this.#running.get(id);
    if (!r?.ready) throw new Error(`${id} is not running; start it first`);
    await new Promise<void>((resolve, reject) => {
      r.pendingSkill = { name: s.name, resolve, reject };
      post(r.worker, { ctl: 'add_skill', skill: s });
      setTimeout(() => reject(new Error('the agent did not answer')), 5000);
    }).finally(() => {
      r.pendingSkill = undefined;
    });
    c.custom = [...c.custom.filter((x) => x.name !== s.name), s];
    await this.#save();
  }

  async removeSkill(id: string, name: string): Promise<void> {
    const c = this.#need(id);
    c.custom = c.custom.filter((x) => x.name !== name);
    await this.#save();
    // The agent re-registers without it: a fresh worker is the simplest way to forget a function.
    if (this.#running.has(id)) await this.restart(id);
  }

  stopAll(): void {
    for (const id of [...this.#running.keys()]) this.#kill(id);
  }

  // ─── internals ─────────────────────────────────────────────────────

  #spawn(id: string): void {
    const c = this.#configs.get(id)!;
    const worker = new Worker(new URL('../agents/agent-worker.ts', import.meta.url), { type: 'module', name: id });
    // IPC lines get their own port; the worker's own channel carries control messages only.
    const ipc = new MessageChannel();
    ipc.port1.start();
    const { agent: attached, detach } = attachPort(this.#hub, ipc.port1, () => worker.terminate());
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const r: Running = { worker, attached, detach, runs: new Map(), skills: [], ready: false, settled, settle };
    this.#running.set(id, r);
    worker.onmessage = (ev: MessageEvent<WorkerToHost>) => this.#fromWorker(id, r, ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault();
      this.#crashed(id, `worker error: ${ev.message || 'failed to load'}`);
    };
    worker.postMessage({ ctl: 'init', id, kind: c.kind, custom: c.custom, llm: c.llm } satisfies HostToWorker, [ipc.port2]);
  }

  #fromWorker(id: string, r: Running, m: WorkerToHost): void {
    if (this.#running.get(id) !== r || !m || typeof m !== 'object') return;
    switch (m.ctl) {
      case 'ready':
        r.ready = true;
        r.skills = m.skills;
        r.settle();
        this.#view(id, { status: 'running', skills: toViews(m.skills, this.#configs.get(id)!) });
        this.#onChange();
        return;
      case 'skills':
        r.skills = m.skills;
        this.#view(id, { skills: toViews(m.skills, this.#configs.get(id)!) });
        this.#onChange();
        return;
      case 'skill_added':
        if (r.pendingSkill?.name === m.name) r.pendingSkill.resolve();
        return;
      case 'skill_error':
        if (r.pendingSkill?.name === m.name) r.pendingSkill.reject(new Error(m.message));
        else this.#view(id, { lastError: `skill ${m.name}: ${m.message}` });
        return;
      case 'busy': {
        const limit = Math.min(MAX_SKILL_MS, m.limitMs) + WATCHDOG_SLACK_MS;
        r.runs.set(
          m.run,
          setTimeout(() => this.#runaway(id, r, m), limit),
        );
        return;
      }
      case 'idle': {
        clearTimeout(r.runs.get(m.run));
        r.runs.delete(m.run);
        return;
      }
      case 'fatal':
        this.#kill(id);
        this.#view(id, { status: 'crashed', lastError: m.message });
        return;
    }
  }

  /** A skill kept the worker's thread past its limit: terminate, tell the requester, restart. */
  #runaway(id: string, r: Running, m: Extract<WorkerToHost, { ctl: 'busy' }>): void {
    if (this.#running.get(id) !== r) return;
    const why = `skill ${m.skill} ran past its time limit of ${m.limitMs} ms and was terminated; agent ${id} restarted`;
    if (m.reply) {
      const msg = {
        type: 'task_response',
        request_id: m.reply.request_id,
        source_agent: id,
        ...(m.reply.source_agent ? { target_agent: m.reply.source_agent } : {}),
        payload: { error: why },
      };
      // A reply to a local requester (or runTask) goes back through the hub; a remote one over the mesh.
      if (m.reply.peer === this.#mesh.peerId) r.attached.receive({ type: 'send', payload: { target_peer: m.reply.peer, message: msg } });
      else void this.#mesh.send(m.reply.peer, msg).catch(() => {});
    }
    useStore.getState().notify('error', why);
    this.#crashed(id, why);
  }

  #crashed(id: string, why: string): void {
    this.#kill(id);
    const v = this.#views.get(id);
    const restarts = (v?.restarts ?? 0) + 1;
    if (restarts > MAX_QUICK_RESTARTS && v?.status === 'restarting') {
      this.#view(id, { status: 'crashed', lastError: `${why} (gave up after ${MAX_QUICK_RESTARTS} restarts)` });
      return;
    }
    this.#view(id, { status: 'restarting', lastError: why, restarts });
    setTimeout(() => {
      const c = this.#configs.get(id);
      if (c?.running && !this.#running.has(id)) this.#spawn(id);
    }, 200);
  }

  #kill(id: string): void {
    const r = this.#running.get(id);
    if (!r) return;
    this.#running.delete(id);
    for (const t of r.runs.values()) clearTimeout(t);
    r.worker.terminate();
    r.detach();
    r.settle();
    r.pendingSkill?.reject(new Error('the agent stopped'));
    this.#onChange();
  }

  #need(id: string): AgentConfig {
    const c = this.#configs.get(id);
    if (!c) throw new Error(`no local agent ${id}`);
    return c;
  }

  #view(id: string, patch: Partial<LocalAgentView>): void {
    const old = this.#views.get(id) ?? { id, kind: '', status: 'stopped' as const, skills: [], restarts: 0 };
    this.#views.set(id, { ...old, ...patch });
    this.#publish();
  }

  #publish(): void {
    useStore.getState().setLocalAgents([...this.#views.values()]);
  }

  #save(): Promise<void> {
    return idb.set(CONFIG_KEY, [...this.#configs.values()]);
  }
}

function describe(c: AgentConfig): string {
  if (c.kind === 'llm') return c.llm?.description ?? `LLM agent (${c.llm?.provider.kind} ${c.llm?.provider.model})`;
  return BUILTIN_AGENTS[c.kind]!.description;
}

function post(w: Worker, m: HostToWorker): void {
  w.postMessage(m);
}

function toViews(skills: SkillSummary[], c: AgentConfig) {
  return skills.map((s) => {
    const custom = c.custom.find((x) => x.name === s.name);
    return { name: s.name, description: s.description, custom: s.custom, ...(custom ? { code: custom.code, timeoutMs: custom.timeoutMs } : {}) };
  });
}
