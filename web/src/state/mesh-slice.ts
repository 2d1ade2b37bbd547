import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import type { LinkView } from './views.ts';

export interface MeshSlice {
  mesh: {
    signaling: 'idle' | 'connecting' | 'open' | 'closed' | 'replaced';
    /** Peers registered with signaling right now (from peer_list / peer_joined / peer_left). */
    peers: string[];
    /** Our own DataChannel links, with path type and RTT from getStats(). */
    links: Record<string, LinkView>;
  };
  setMesh: (patch: Partial<MeshSlice['mesh']>) => void;
  setLink: (link: LinkView) => void;
  dropLink: (peerId: string) => void;
}

export const createMeshSlice: StateCreator<Store, [], [], MeshSlice> = (set, get) => ({
  mesh: { signaling: 'idle', peers: [], links: {} },
  setMesh: (patch) => set({ mesh: { ...get().mesh, ...patch } }),
  setLink: (link) => {
    const m = get().mesh;
    const old = m.links[link.peer_id];
    if (old && old.state === link.state && old.path === link.path && old.rtt_ms === link.rtt_ms) return;
    set({ mesh: { ...m, links: { ...m.links, [link.peer_id]: link } } });
  },
  dropLink: (peerId) => {
    const m = get().mesh;
    if (!(peerId in m.links)) return;
    const links = { ...m.links };
    delete links[peerId];
    set({ mesh: { ...m, links } });
  },
});
