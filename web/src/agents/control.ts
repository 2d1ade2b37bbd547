/**
 * Messages between the tab and one worker agent. IPC lines (docs/sidecar.md) travel on a MessagePort
 * handed over at init (the agent SDK on one end, the AgentHub on the other); the worker's own
 * postMessage carries only these `ctl` messages about the worker's life (skills, the watchdog).
 */
import type { LlmAgentDefinition } from '../../../mesh/llm/definition.ts';

export interface CustomSkill {
  name: string;
  code: string;
  timeoutMs: number;
}
export interface SkillSummary {
  name: string;
  description: string;
  custom: boolean;
  args_schema?: Record<string, unknown> | undefined;
}

export type HostToWorker =
  /** `llm`: the definition of an LLM agent (kind "llm"); its key is read from IndexedDB by the worker itself. */
  { ctl: 'init'; id: string; kind: string; custom: CustomSkill[]; llm?: LlmAgentDefinition | undefined } | { ctl: 'add_skill'; skill: CustomSkill };

export type WorkerToHost =
  | { ctl: 'ready'; skills: SkillSummary[] }
  | { ctl: 'skills'; skills: SkillSummary[] }
  | { ctl: 'skill_added'; name: string }
  | { ctl: 'skill_error'; name: string; message: string }
  /** A skill started running; the host terminates the worker if `idle` does not follow in time. */
  | {
      ctl: 'busy';
      run: number;
      skill: string;
      limitMs: number;
      reply?: { peer: string; request_id?: string | undefined; source_agent?: string | undefined } | undefined;
    }
  | { ctl: 'idle'; run: number }
  /** The agent cannot start (e.g. no key for its provider): not restarted until the person fixes it. */
  | { ctl: 'fatal'; message: string };

/** Where a tab keeps an LLM agent's provider key: this origin's IndexedDB, read only by the agent's worker. */
export const llmKeyName = (agentId: string) => `llm-key:${agentId}`;
/** Where it keeps the agent's conversations (bounded, mesh/llm/memory.ts): the same IndexedDB, never sent anywhere. */
export const llmMemoryName = (agentId: string) => `llm-memory:${agentId}`;

/** Longest time limit a person may give a custom skill, and the slack before the watchdog fires. */
export const MAX_SKILL_MS = 60_000;
export const WATCHDOG_SLACK_MS = 300;
