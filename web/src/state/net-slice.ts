import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import type { Notice, OutboxView } from './views.ts';

export interface NetSlice {
  /** The leader tab's view of the network (mirrored). */
  online: boolean;
  /** True while the dashboard shows the last saved state rather than live data. */
  stale: boolean;
  savedAt: number | null;
  notices: Notice[];
  outbox: OutboxView[];
  /** Per tab, never mirrored: who holds the peer identity, and whether the browser offers install. */
  tab: { role: 'electing' | 'leader' | 'follower'; canInstall: boolean; installed: boolean };
  notify: (level: Notice['level'], text: string) => void;
  dismiss: (id: string) => void;
  setNet: (patch: Partial<Pick<NetSlice, 'online' | 'stale' | 'savedAt' | 'outbox'>>) => void;
  setTab: (patch: Partial<NetSlice['tab']>) => void;
}

let seq = 0;
const MAX_NOTICES = 6;

export const createNetSlice: StateCreator<Store, [], [], NetSlice> = (set, get) => ({
  online: typeof navigator === 'undefined' ? true : navigator.onLine,
  stale: false,
  savedAt: null,
  notices: [],
  outbox: [],
  tab: { role: 'electing', canInstall: false, installed: false },
  notify: (level, text) => {
    const n: Notice = { id: `${Date.now()}-${++seq}`, level, text, at: Date.now() };
    set({ notices: [...get().notices, n].slice(-MAX_NOTICES) });
  },
  dismiss: (id) => set({ notices: get().notices.filter((n) => n.id !== id) }),
  setNet: (patch) => set(patch),
  setTab: (patch) => set({ tab: { ...get().tab, ...patch } }),
});
