/// <reference lib="webworker" />
/**
 * One agent in its own Web Worker. The agent itself is the mesh core's agent SDK (AgentClient)
 * over a MessagePort — the same SDK a sidecar agent uses over its Unix socket. `self` carries only
 * control messages from the tab: init, add/remove a person's skill, and busy/idle reports for the
 * tab's watchdog.
 */
import { AgentClient, portTransport, type SkillCall, type SkillDefinition } from '../../../mesh/agent/index.ts';
import { BUILTIN_AGENTS } from './builtins.ts';
import { compileSkill, runWithLimit } from './sandbox.ts';
import { llmKeyName, llmMemoryName, type CustomSkill, type HostToWorker, type SkillSummary, type WorkerToHost } from './control.ts';
import { idb } from '../lib/idb.ts';

declare const self: DedicatedWorkerGlobalScope;
const BUILTIN_LIMIT_MS = 10_000;

let client: AgentClient | null = null;
const summaries = new Map<string, SkillSummary>();
let runSeq = 0;

const post = (m: WorkerToHost) => self.postMessage(m);

/** Wraps a skill so the tab's watchdog knows when it runs, and bounds async work itself. */
function guarded(name: string, limitMs: number, fn: (args: unknown, call: SkillCall) => unknown) {
  return async (args: unknown, call: SkillCall) => {
    const run = ++runSeq;
    post({ ctl: 'busy', run, skill: name, limitMs, reply: { peer: call.fromPeer, request_id: call.requestId, source_agent: call.sourceAgent } });
    try {
      return await runWithLimit(() => fn(args, call), limitMs, name);
    } finally {
      post({ ctl: 'idle', run });
    }
  };
}

function addCustom(s: CustomSkill): void {
  const fn = compileSkill(s.code);
  summaries.set(s.name, { name: s.name, description: `custom skill (limit ${s.timeoutMs} ms)`, custom: true });
  client!.skill(
    s.name,
    guarded(s.name, s.timeoutMs, (args) => fn(args)),
    `custom skill (limit ${s.timeoutMs} ms)`,
  );
}

self.onmessage = async (ev: MessageEvent<HostToWorker & { port?: MessagePort }>) => {
  const m = ev.data;
  if (!m || typeof m !== 'object' || !('ctl' in m)) return;
  if (m.ctl === 'init' && m.kind === 'llm') return startLlm(m, ev.ports[0]);
  if (m.ctl === 'init') {
    const def = BUILTIN_AGENTS[m.kind];
    const port = ev.ports[0];
    if (!def || !port) throw new Error(`cannot start agent kind ${m.kind}`);
    port.start();
    const skills: Record<string, SkillDefinition> = {};
    for (const s of def.skills) {
      summaries.set(s.name, { name: s.name, description: s.description, custom: false, args_schema: s.args_schema });
      skills[s.name] = {
        description: s.description,
        ...(s.args_schema && { args_schema: s.args_schema }),
        handler: guarded(s.name, BUILTIN_LIMIT_MS, (args) => s.run(args)),
      };
    }
    client = new AgentClient(portTransport(port), {
      name: m.id,
      skills,
      // Chat answers stream as agent_stream_chunk, then one agent_response with the whole text.
      onPrompt: (text) => {
        const q: string[] = [];
        let done = false;
        let wake: (() => void) | null = null;
        void def
          .chat(text, (c) => {
            q.push(c);
            wake?.();
          })
          .finally(() => {
            done = true;
            wake?.();
          });
        return (async function* () {
          for (;;) {
            while (q.length) yield q.shift()!;
            if (done) return;
            await new Promise<void>((r) => (wake = r));
            wake = null;
          }
        })();
      },
    });
    for (const s of m.custom) {
      try {
        addCustom(s);
      } catch (e) {
        post({ ctl: 'skill_error', name: s.name, message: (e as Error).message });
      }
    }
    await client.register();
    post({ ctl: 'ready', skills: [...summaries.values()] });
    return;
  }
  if (!client) return;
  if (m.ctl === 'add_skill') {
    try {
      addCustom(m.skill);
      post({ ctl: 'skill_added', name: m.skill.name });
      post({ ctl: 'skills', skills: [...summaries.values()] });
    } catch (e) {
      post({ ctl: 'skill_error', name: m.skill.name, message: (e as Error).message });
    }
  }
};

/**
 * An LLM agent: the same implementation a Pi runs (mesh/llm/agent.ts); the key never leaves this
 * origin's IndexedDB but for the provider call, and its conversations stay in the same IndexedDB.
 */
async function startLlm(m: Extract<HostToWorker, { ctl: 'init' }>, port: MessagePort | undefined): Promise<void> {
  if (!port || !m.llm) return post({ ctl: 'fatal', message: 'no definition for this LLM agent' });
  port.start();
  try {
    // Loaded only by LLM agents: the echo and math workers stay small.
    const [{ startLlmAgent }, { parseDefinition }] = await Promise.all([import('../../../mesh/llm/agent.ts'), import('../../../mesh/llm/definition.ts')]);
    const def = parseDefinition({ ...m.llm, name: m.id });
    const apiKey = await idb.get<string>(llmKeyName(m.id));
    const memoryKey = llmMemoryName(m.id);
    client = await startLlmAgent(portTransport(port), def, {
      apiKey,
      memoryStore: { load: () => idb.get(memoryKey), save: (snapshot) => idb.set(memoryKey, snapshot) },
      warn: (message) => console.warn(`LLM agent ${m.id}: ${message}`),
    });
    const skills = [def.skill, def.serve_as_gateway]
      .filter((x): x is string => !!x)
      .map((name) => ({ name, description: name === def.skill ? 'asks this agent' : 'provider gateway', custom: false }));
    post({ ctl: 'ready', skills });
  } catch (e) {
    post({ ctl: 'fatal', message: (e as Error).message });
  }
}
