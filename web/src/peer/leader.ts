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
import { clientFor, isAuthError, openTabPeer, signIn, type TabPeer } from './tab-peer.ts';
import { isRevokedError } from '../../../mesh/revocation.ts';
import { chatKey } from '../state/chat-slice.ts';
import { errorCode } from '../../../mesh/error-fields.ts';

const CREDENTIAL = 'credential';
const PEER_ID = 'peer_id';
/** Set when an admin revoked this browser: a reload shows it again instead of a login form. */
const REVOKED = 'revoked';
/**
 * While the registry cannot be reached, /healthz is probed this often (plus up to as much again
 * of jitter, so a fleet of tabs does not knock in step): a tab is back within seconds of the
 * registry, and at once when the network returns or the page becomes visible.
 */
const PROBE_MS = 2000;

export async function startLeader(): Promise<Runtime> {
  const store = useStore.getState;
  let peer: TabPeer | null = null;
  let credential: string | undefined;
  let connecting: Promise<void> | null = null;
  let probeTimer: ReturnType<typeof setTimeout> | null = null;

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

  /** Back to a blank app: nothing of the last session stays on screen. */
  const reset = (session: ReturnType<typeof store>['session']) =>
    useStore.setState({
      session,
      registry: { agents: [], tasks: [], edges: [], peers: [], live: false, updatedAt: null },
      mesh: { signaling: 'idle', peers: [], links: {} },
      chats: {},
      localAgents: [],
      dispatches: [],
      stale: false,
      savedAt: null,
    });

  /**
   * An admin revoked this browser. Everything stops at once — links, signaling, heartbeats, event
   * stream, worker agents, the /healthz probe — and the credential is forgotten: nothing retries.
   * The page says so in plain words and offers to pair again.
   */
  const revoked = async (message: string) => {
    const p = peer;
    peer = null;
    credential = undefined;
    stopProbing();
    reset({ phase: 'revoked', peerId: p?.peerId, error: message });
    await p?.stop(true);
    await Promise.all([idb.del(CREDENTIAL), clearSnapshot(), idb.set(REVOKED, { message, peerId: p?.peerId })]);
  };
  const open = (client: Parameters<typeof openTabPeer>[0], peerId: string, role: string | undefined) =>
    openTabPeer(client, peerId, role, (m) => void revoked(m));

  const stopProbing = () => {
    if (probeTimer) {
      clearTimeout(probeTimer);
      probeTimer = null;
    }
  };
  /** Waits for the registry to answer /healthz, then joins. */
  const probe = () => {
    stopProbing();
    probeTimer = setTimeout(
      async () => {
        probeTimer = null;
        if (!credential || peer?.joined) return;
        const up = await fetch('/healthz', { cache: 'no-store' }).then(
          (r) => r.ok,
          () => false,
        );
        if (up) void connect(false).catch(() => {});
        else probe();
      },
      PROBE_MS + Math.random() * PROBE_MS,
    );
  };

  /** Signs in (opening this browser's peer first when it is not open yet) and joins the mesh. */
  const connect = (interactive: boolean): Promise<void> => {
    connecting ??= (async () => {
      stopProbing();
      const cred = credential!;
      try {
        if (!peer) {
          const client = await signIn(cred, await preferredPeerId());
          peer = open(client, client.peer!.peer_id, client.peer!.role);
        }
        await peer.join();
        store().setSession({ phase: 'signed_in', peerId: peer.peerId, role: peer.role, error: undefined });
        store().setNet({ stale: false });
        await Promise.all([idb.set(CREDENTIAL, cred), idb.del(REVOKED)]);
        void flush(run);
      } catch (e) {
        if (isRevokedError(e) && store().session.phase === 'revoked') return; // the peer's revocation watch took over
        if (isAuthError(e)) {
          await idb.del(CREDENTIAL);
          credential = undefined;
          const p = peer;
          peer = null;
          await p?.stop();
          const why = errorCode(e) === 'ca_changed' ? (e as Error).message : `The registry refused this key: ${(e as Error).message}`;
          store().setSession({ phase: 'signed_out', error: why });
          if (interactive) throw e;
          return;
        }
        if (interactive && !(await idb.get(CREDENTIAL))) {
          credential = undefined;
          const p = peer;
          peer = null;
          await p?.stop();
          throw new Error(`Cannot reach the registry: ${(e as Error).message}`);
        }
        // Offline or the registry is down: this browser's agents run, the saved state shows, and we probe.
        store().setSession({ phase: 'signed_in' });
        store().setNet({ stale: true });
        probe();
      }
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  /** Back at once when the network returns or the person looks at the page again. */
  const reconnectNow = () => {
    if (!credential || !navigator.onLine) return;
    if (peer?.joined) peer.retryNow();
    else void connect(false).catch(() => {});
  };

  /** Executes an action now (the network is assumed up). */
  const run = async (a: Action): Promise<void> => {
    if (!peer) throw new Error('not connected to the mesh yet');
    await peer.do(a);
  };

  const runtime: Runtime = {
    do: async (a) => {
      if (a.type === 'login') {
        credential = a.credential;
        return connect(true);
      }
      if (a.type === 'logout') {
        const p = peer;
        peer = null;
        credential = undefined;
        stopProbing();
        await p?.stop();
        await Promise.all([idb.del(CREDENTIAL), clearSnapshot()]);
        reset({ phase: 'signed_out' });
        return;
      }
      if (a.type === 'leave_revoked') {
        await idb.del(REVOKED);
        if (a.then === 'pair') location.assign('/pair');
        else store().setSession({ phase: 'signed_out', error: undefined });
        return;
      }
      // What this browser's own agents can do is done now, registry or not; the rest waits in the outbox.
      if (QUEUEABLE.has(a.type) && (!navigator.onLine || !peer?.joined) && !peer?.runsHere(a)) {
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
    if (!navigator.onLine) {
      store().setNet({ stale: true });
      return;
    }
    if (peer?.joined) void flush(run);
    reconnectNow();
  };
  addEventListener('online', setOnline);
  addEventListener('offline', setOnline);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') reconnectNow();
  });
  setOnline();

  credential = await idb.get<string>(CREDENTIAL).catch(() => undefined);
  if (credential) {
    // Show the saved dashboard at once and start this browser's agents; the registry catches up.
    store().setSession({ phase: 'signed_in' });
    const { peerId, role } = store().session;
    if (peerId) peer = open(clientFor(credential, peerId), peerId, role);
    void connect(false).catch(() => {});
  } else {
    const was = await idb.get<{ message: string; peerId?: string }>(REVOKED).catch(() => undefined);
    if (was) reset({ phase: 'revoked', peerId: was.peerId, error: was.message });
    else store().setSession({ phase: 'signed_out' });
  }
  return runtime;
}
