/**
 * What a person can ask for. Every tab builds these; only the leader tab (the one holding the
 * peer identity) executes them — followers forward them over BroadcastChannel (see peer/tabs.ts).
 */
import type { LlmAgentDefinitionInput } from '../../../mesh/llm/definition.ts';

export type BuiltinAgentKind = 'echo' | 'math';

export type DispatchTarget = { kind: 'skill'; skill: string } | { kind: 'agent'; agent: string; skill: string };

export type Action =
  | { type: 'login'; credential: string }
  | { type: 'logout' }
  /** After a revocation: forget it, to pair again (`pair`) or sign in with a key. */
  | { type: 'leave_revoked'; then: 'pair' | 'sign_in' }
  | { type: 'start_agent'; kind: BuiltinAgentKind }
  /** The key is already in IndexedDB (llmKeyName): it never travels in an action. */
  | { type: 'add_llm_agent'; definition: LlmAgentDefinitionInput }
  | { type: 'restart_agent'; id: string }
  | { type: 'stop_agent'; id: string }
  | { type: 'remove_agent'; id: string }
  | { type: 'add_skill'; agentId: string; name: string; code: string; timeoutMs: number }
  | { type: 'remove_skill'; agentId: string; name: string }
  | { type: 'prompt'; agent: string; peerId: string; text: string; queuedAt?: number }
  /** Stops the answer being streamed in that chat (the agent stops generating at its provider). */
  | { type: 'stop_prompt'; agent: string; peerId: string }
  | { type: 'dispatch'; target: DispatchTarget; args: unknown; queuedAt?: number };

/** Actions that need the network and are therefore queued while offline. */
export const QUEUEABLE: ReadonlySet<Action['type']> = new Set(['prompt', 'dispatch']);

export interface Runtime {
  do(action: Action): Promise<void>;
}

let current: Runtime = {
  do: async () => {
    throw new Error('the app is still starting');
  },
};
export const runtime = (): Runtime => current;
export function setRuntime(r: Runtime): void {
  current = r;
}
