import { create } from 'zustand';
import { createSessionSlice, type SessionSlice } from './session-slice.ts';
import { createNetSlice, type NetSlice } from './net-slice.ts';
import { createRegistrySlice, type RegistrySlice } from './registry-slice.ts';
import { createMeshSlice, type MeshSlice } from './mesh-slice.ts';
import { createChatSlice, type ChatSlice } from './chat-slice.ts';
import { createAgentsSlice, type AgentsSlice } from './agents-slice.ts';

export type Store = SessionSlice & NetSlice & RegistrySlice & MeshSlice & ChatSlice & AgentsSlice;

/** One store, built from slices; each slice keeps its actions next to its state. */
export const useStore = create<Store>()((...a) => ({
  ...createSessionSlice(...a),
  ...createNetSlice(...a),
  ...createRegistrySlice(...a),
  ...createMeshSlice(...a),
  ...createChatSlice(...a),
  ...createAgentsSlice(...a),
}));

/** The data the leader tab mirrors to its followers and saves for offline use (no functions, no per-tab state). */
export const MIRRORED_KEYS = [
  'session',
  'online',
  'stale',
  'savedAt',
  'notices',
  'outbox',
  'registry',
  'mesh',
  'chats',
  'localAgents',
  'dispatches',
] as const satisfies ReadonlyArray<keyof Store>;
export type Mirrored = Pick<Store, (typeof MIRRORED_KEYS)[number]>;

export function pickMirrored(s: Store): Mirrored {
  const out: Partial<Mirrored> = {};
  for (const k of MIRRORED_KEYS) (out as Record<string, unknown>)[k] = s[k];
  return out as Mirrored;
}
