/**
 * The leader tab's runtime: it signs in, holds the peer (mesh links, worker agents, live registry
 * events), saves the last known state for offline use, and queues actions taken offline.
 * Only the tab holding the Web Lock runs this (see tabs.ts).
 */
import { useStore } from '../state/store.ts';
import { QUEUEABLE, type Action, type Runtime } from '../state/actions.ts';
import { idb } from '../lib/idb.ts';
import { enqueue, flush, loadOutbox } from '../lib/outbox.ts';
import { restoreSnapshot, keepSnapshot, clearSnapshot } from './snapshot.ts';
import { connectTabPeer, isAuthError, type TabPeer } from './tab-peer.ts';
import { chatKey } from '../state/chat-slice.ts';

const CREDENTIAL = 'credential';
const PEER_ID = 'peer_id';
const RETRY_MAX_MS = 30_000;

export async function startLeader(): Promise<Runtime> {
  const store = useStore.getState;
  let peer: TabPeer | null = null;
  let connecting: Promise<void> | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let retryMs = 1000;

  await restoreSnapshot().catch(() => false);
  await loadOutbox().catch(() => []);
  keepSnapshot();

  /** A persistent peer id for this browser when signed in with an admin key (docs/web.md, Sign in and join). */
  const preferredPeerId = async () => {
    let id = await idb.get<string>(PEER_ID);
    if (!id) {
      id = 'web-' + crypto.randomUUID().replace(/-/g, '').slice(0, 12);
      await idb.set(PEER_ID, id);
    }
    return id;
  };

  const connect = (credential: string, interactive: boolean): Promise<void> => {
    connecting ??= (async () => {
      if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
      try {
        const p = await connectTabPeer(credential, await preferredPeerId());
        peer = p;
        retryMs = 1000;
        store().setSession({ phase: 'signed_in', peerId: p.peerId, role: p.role, error: undefined });
        await idb.set(CREDENTIAL, credential);
        void flush(run);
      } catch (e) {
        if (isAuthError(e)) {
          await idb.del(CREDENTIAL);
          const why = (e as { code?: string }).code === 'ca_changed' ? (e as Error).message : `The registry refused this key: ${(e as Error).message}`;
          store().setSession({ phase: 'signed_out', error: why });
          if (interactive) throw e;
          return;
        }
        if (interactive && !(await idb.get(CREDENTIAL))) throw new Error(`Cannot reach the registry: ${(e as Error).message}`);
        // Offline or the registry is down: keep showing the saved state and try again later.
        store().setSession({ phase: 'signed_in' });
        store().setNet({ stale: true });
        retryTimer = setTimeout(() => { retryTimer = null; void connect(credential, false); }, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    })().finally(() => { connecting = null; });
    return connecting;
  };

  /** Executes an action now (the network is assumed up). */
  const run = async (a: Action): Promise<void> => {
    if (!peer) throw new Error('not connected to the mesh yet');
    await peer.do(a);
  };

  const runtime: Runtime = {
    do: async (a) => {
      if (a.type === 'login') return connect(a.credential, true);
      if (a.type === 'logout') {
        const p = peer;
        peer = null;
        await p?.stop();
        await Promise.all([idb.del(CREDENTIAL), clearSnapshot()]);
        useStore.setState({
          session: { phase: 'signed_out' }, registry: { agents: [], tasks: [], edges: [], peers: [], live: false, updatedAt: null },
          mesh: { signaling: 'idle', peers: [], links: {} }, chats: {}, localAgents: [], dispatches: [], stale: false, savedAt: null,
        });
        return;
      }
      if (QUEUEABLE.has(a.type) && (!navigator.onLine || !peer)) {
        if (a.type === 'prompt') {
          // Shown in the conversation at once, marked queued until it is really sent.
          a = { ...a, queuedAt: Date.now() };
          store().chatAppend(chatKey(a.agent, a.peerId), `q-${a.queuedAt}`, 'me', a.text, false);
        }
        return enqueue(a);
      }
      return run(a);
    },
  };

  const setOnline = () => {
    store().setNet({ online: navigator.onLine });
    if (!navigator.onLine) { store().setNet({ stale: true }); return; }
    if (peer) void flush(run);
    else void idb.get<string>(CREDENTIAL).then((c) => { if (c) void connect(c, false); });
  };
  addEventListener('online', setOnline);
  addEventListener('offline', setOnline);
  setOnline();

  const credential = await idb.get<string>(CREDENTIAL).catch(() => undefined);
  if (credential) {
    // Show the saved dashboard at once; the connection catches up (or stays stale offline).
    store().setSession({ phase: 'signed_in' });
    void connect(credential, false);
  } else {
    store().setSession({ phase: 'signed_out' });
  }
  return runtime;
}
