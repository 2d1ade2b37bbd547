import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import type { AgentView, EdgeView, TaskView } from './views.ts';

export interface RegistrySlice {
  registry: {
    agents: AgentView[];
    tasks: TaskView[];
    /** Links as every peer reports them in its heartbeat (the registry's topology). */
    edges: EdgeView[];
    /** Peers the registry knows (from the topology), with their health. */
    peers: Array<{ peer_id: string; health: string }>;
    /** The live event stream is connected. */
    live: boolean;
    updatedAt: number | null;
  };
  setRegistry: (patch: Partial<RegistrySlice['registry']>) => void;
}

export const createRegistrySlice: StateCreator<Store, [], [], RegistrySlice> = (set, get) => ({
  registry: { agents: [], tasks: [], edges: [], peers: [], live: false, updatedAt: null },
  setRegistry: (patch) => set({ registry: { ...get().registry, ...patch } }),
});
