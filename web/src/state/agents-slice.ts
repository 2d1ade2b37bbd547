import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import type { DispatchView, LocalAgentView } from './views.ts';
import { runtime, type BuiltinAgentKind, type DispatchTarget } from './actions.ts';
import { parseDefinition, type LlmAgentDefinitionInput } from '../../../mesh/llm/definition.ts';
import { llmKeyName } from '../agents/control.ts';
import { idb } from '../lib/idb.ts';

export interface AgentsSlice {
  /** Agents running in this browser's Web Workers (owned by the leader tab). */
  localAgents: LocalAgentView[];
  /** Tasks this browser dispatched, with the tier that carried each. */
  dispatches: DispatchView[];
  startAgent: (kind: BuiltinAgentKind) => Promise<void>;
  /** Saves the key in this browser's IndexedDB, then starts the agent; rejects with a readable reason. */
  addLlmAgent: (definition: LlmAgentDefinitionInput, apiKey: string) => Promise<void>;
  stopAgent: (id: string) => Promise<void>;
  restartAgent: (id: string) => Promise<void>;
  removeAgent: (id: string) => Promise<void>;
  addSkill: (agentId: string, name: string, code: string, timeoutMs: number) => Promise<void>;
  removeSkill: (agentId: string, name: string) => Promise<void>;
  dispatch: (target: DispatchTarget, args: unknown) => Promise<void>;
  setLocalAgents: (agents: LocalAgentView[]) => void;
  upsertDispatch: (d: Partial<DispatchView> & { id: string }) => void;
}

const MAX_DISPATCHES = 50;

export const createAgentsSlice: StateCreator<Store, [], [], AgentsSlice> = (set, get) => {
  /** Runs an action; a failure becomes a visible notice, never a silent drop. */
  const act = async (what: string, a: Parameters<ReturnType<typeof runtime>['do']>[0]) => {
    try {
      await runtime().do(a);
    } catch (e) {
      get().notify('error', `${what}: ${(e as Error).message}`);
    }
  };
  return {
    localAgents: [],
    dispatches: [],
    startAgent: (kind) => act('Could not start the agent', { type: 'start_agent', kind }),
    addLlmAgent: async (definition, apiKey) => {
      const def = parseDefinition(definition); // a bad field is refused here, before anything is saved
      if (apiKey) await idb.set(llmKeyName(def.name), apiKey);
      else await idb.del(llmKeyName(def.name));
      await runtime().do({ type: 'add_llm_agent', definition });
    },
    stopAgent: (id) => act('Could not stop the agent', { type: 'stop_agent', id }),
    restartAgent: (id) => act('Could not restart the agent', { type: 'restart_agent', id }),
    removeAgent: (id) => act('Could not remove the agent', { type: 'remove_agent', id }),
    // Rejects: the form shows the error beside the code and stays open to fix it.
    addSkill: (agentId, name, code, timeoutMs) => runtime().do({ type: 'add_skill', agentId, name, code, timeoutMs }),
    removeSkill: (agentId, name) => act(`Could not remove skill ${name}`, { type: 'remove_skill', agentId, name }),
    dispatch: (target, args) => act('Task not dispatched', { type: 'dispatch', target, args }),
    setLocalAgents: (localAgents) => set({ localAgents }),
    upsertDispatch: (d) => {
      const list = get().dispatches;
      const i = list.findIndex((x) => x.id === d.id);
      if (i < 0) {
        const fresh: DispatchView = { label: d.id, state: 'running', at: Date.now(), ...d };
        set({ dispatches: [fresh, ...list].slice(0, MAX_DISPATCHES) });
      } else {
        const next = list.slice();
        next[i] = { ...list[i]!, ...d };
        set({ dispatches: next });
      }
    },
  };
};
