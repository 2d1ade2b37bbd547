import type { StateCreator } from 'zustand';
import type { Store } from './store.ts';
import { runtime } from './actions.ts';

export interface SessionSlice {
  session: {
    /** `revoked`: an admin revoked this browser's credential; `error` holds the registry's words. */
    phase: 'starting' | 'signed_out' | 'signing_in' | 'signed_in' | 'revoked';
    peerId?: string | undefined;
    role?: string | undefined;
    error?: string | undefined;
    /** This device's certificate, described for people (key id, validity). */
    identity?: string | undefined;
  };
  login: (credential: string) => Promise<void>;
  logout: () => Promise<void>;
  setSession: (patch: Partial<SessionSlice['session']>) => void;
}

export const createSessionSlice: StateCreator<Store, [], [], SessionSlice> = (set, get) => ({
  session: { phase: 'starting' },
  login: async (credential) => {
    set({ session: { ...get().session, phase: 'signing_in', error: undefined } });
    try {
      await runtime().do({ type: 'login', credential: credential.trim() });
    } catch (e) {
      set({ session: { phase: 'signed_out', error: (e as Error).message } });
    }
  },
  logout: () => runtime().do({ type: 'logout' }),
  setSession: (patch) => set({ session: { ...get().session, ...patch } }),
});
