/**
 * The last known mesh state, saved in IndexedDB by the leader tab so that the app opened offline
 * (or before the registry answers) shows it, marked stale.
 */
import { idb } from '../lib/idb.ts';
import { useStore, pickMirrored, type Mirrored } from '../state/store.ts';

const KEY = 'snapshot';
const SAVE_EVERY_MS = 1500;

type Saved = Omit<Mirrored, 'notices' | 'outbox' | 'online' | 'stale'>;

export async function restoreSnapshot(): Promise<boolean> {
  const saved = await idb.get<{ state: Saved; at: number }>(KEY).catch(() => undefined);
  if (!saved) return false;
  const { session, ...rest } = saved.state;
  useStore.setState({
    ...rest,
    // restored links and agents are history, not live state
    mesh: { ...rest.mesh, signaling: 'idle', links: {} },
    localAgents: rest.localAgents.map((a) => ({ ...a, status: 'stopped' as const })),
    // The page that waited for a dispatch is gone: one the registry queued ends with its task (the
    // feed settles it); any other was lost with the page.
    dispatches: rest.dispatches.map((d) =>
      d.state !== 'running' || d.taskId ? d : { ...d, state: 'failed' as const, error: 'Interrupted: the page was reloaded while it ran. Dispatch it again.' },
    ),
    registry: { ...rest.registry, live: false },
    // The certificate is in IndexedDB with the key: the last known description stays true offline.
    session: { ...useStore.getState().session, peerId: session.peerId, role: session.role, identity: session.identity },
    stale: true,
    savedAt: saved.at,
  });
  return true;
}

/** Saves the mirrored state at most every 1.5 s while the dashboard shows live data. */
export function keepSnapshot(): void {
  let _timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    _timer = null;
    const s = useStore.getState();
    if (s.stale || s.session.phase !== 'signed_in') return;
    const { notices: _n, outbox: _o, online: _on, stale: _s, ...state } = pickMirrored(s);
    const at = Date.now();
    void idb
      .set(KEY, { state, at })
      .then(() => useStore.getState().setNet({ savedAt: at }))
      .catch(() => {});
  };
  useStore.subscribe((s, prev) => {
    if (s.savedAt !== prev.savedAt) return; // our own write
    _timer ??= setTimeout(save, SAVE_EVERY_MS);
  });
}

export const clearSnapshot = () => idb.del(KEY);
