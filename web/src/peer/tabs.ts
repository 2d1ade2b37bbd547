/**
 * One peer per browser, not per tab. The tab that holds the Web Lock `chatixia-peer` owns the peer
 * identity, the mesh links and the worker agents; every other tab of the same origin mirrors its
 * state over BroadcastChannel and forwards actions to it. When the leader closes, the lock passes
 * to a waiting tab, which starts the peer from the credential in IndexedDB.
 */
import { useStore, pickMirrored, type Mirrored } from '../state/store.ts';
import { setRuntime, type Action, type Runtime } from '../state/actions.ts';

const LOCK = 'chatixia-peer';
const CHANNEL = 'chatixia-tabs';
const ACTION_TIMEOUT_MS = 15_000;
const MIRROR_EVERY_MS = 80;

type TabMsg =
  | { kind: 'hello' }
  | { kind: 'state'; state: Mirrored }
  | { kind: 'action'; id: string; action: Action }
  | { kind: 'action_done'; id: string; error?: string };

export interface TabsOptions {
  /** Called once this tab wins the lock; returns the runtime that executes actions for real. */
  becomeLeader: () => Promise<Runtime>;
}

export function startTabs({ becomeLeader }: TabsOptions): void {
  const bc = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  let leader: Runtime | null = null;

  const follower: Runtime = {
    do: (action) =>
      new Promise<void>((resolve, reject) => {
        if (!bc) return reject(new Error('this browser cannot share one peer between tabs'));
        const id = crypto.randomUUID();
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error("the tab that holds this browser's peer did not answer"));
        }, ACTION_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        bc.postMessage({ kind: 'action', id, action } satisfies TabMsg);
      }),
  };

  const onMessage = async (ev: MessageEvent<TabMsg>) => {
    const m = ev.data;
    if (!m || typeof m !== 'object') return;
    if (leader) {
      if (m.kind === 'hello') broadcastNow();
      else if (m.kind === 'action') {
        let error: string | undefined;
        try {
          await leader.do(m.action);
        } catch (e) {
          error = (e as Error).message;
        }
        bc?.postMessage({ kind: 'action_done', id: m.id, ...(error ? { error } : {}) } satisfies TabMsg);
      }
      return;
    }
    if (m.kind === 'state') useStore.setState(m.state);
    else if (m.kind === 'action_done') {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve();
    }
  };
  bc?.addEventListener('message', (ev) => void onMessage(ev as MessageEvent<TabMsg>));

  let timer: ReturnType<typeof setTimeout> | null = null;
  const broadcastNow = () => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    bc?.postMessage({ kind: 'state', state: pickMirrored(useStore.getState()) } satisfies TabMsg);
  };
  const scheduleBroadcast = () => {
    timer ??= setTimeout(broadcastNow, MIRROR_EVERY_MS);
  };

  const lead = async () => {
    useStore.getState().setTab({ role: 'leader' });
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('this tab took over the peer; try again'));
    }
    pending.clear();
    leader = await becomeLeader();
    setRuntime(leader);
    useStore.subscribe(scheduleBroadcast);
    broadcastNow();
  };

  setRuntime(follower);
  if (typeof navigator !== 'undefined' && navigator.locks) {
    useStore.getState().setTab({ role: 'follower' });
    bc?.postMessage({ kind: 'hello' } satisfies TabMsg);
    // The lock is held until the page goes away: the promise never settles.
    void navigator.locks.request(LOCK, () => lead().then(() => new Promise<never>(() => {})));
  } else {
    // No Web Locks (an insecure http:// origin): this tab is its own peer; a second tab replaces it (close 4001).
    void lead();
  }
}
