/**
 * Messages between the tab and one worker agent. IPC lines (DESIGN.md §3.3) travel on a MessagePort
 * handed over at init (the agent SDK on one end, the AgentHub on the other); the worker's own
 * postMessage carries only these `ctl` messages about the worker's life (skills, the watchdog).
 */
export interface CustomSkill { name: string; code: string; timeoutMs: number }
export interface SkillSummary { name: string; description: string; custom: boolean; args_schema?: Record<string, unknown> | undefined }

export type HostToWorker =
  | { ctl: 'init'; id: string; kind: string; custom: CustomSkill[] }
  | { ctl: 'add_skill'; skill: CustomSkill };

export type WorkerToHost =
  | { ctl: 'ready'; skills: SkillSummary[] }
  | { ctl: 'skills'; skills: SkillSummary[] }
  | { ctl: 'skill_added'; name: string }
  | { ctl: 'skill_error'; name: string; message: string }
  /** A skill started running; the host terminates the worker if `idle` does not follow in time. */
  | { ctl: 'busy'; run: number; skill: string; limitMs: number; reply?: { peer: string; request_id?: string | undefined; source_agent?: string | undefined } | undefined }
  | { ctl: 'idle'; run: number };

/** Longest time limit a person may give a custom skill, and the slack before the watchdog fires. */
export const MAX_SKILL_MS = 60_000;
export const WATCHDOG_SLACK_MS = 300;
