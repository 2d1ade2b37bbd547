/**
 * The fault tests' browser peer: the tab's own peer runtime (web/src/peer/tab-runtime.ts) on a page
 * the registry serves, signed in with an API key, with one worker agent attached to its AgentHub
 * through attachPort — as the PWA does — so the fault tests exercise what a browser runs.
 * Driven by the test through `window.faultTab` (e2e/faults/tab.ts).
 */
import { attachPort } from '../../../mesh/agent/index.ts';
import { RegistryClient } from '../../../mesh/registry-client.ts';
import { IndexedDbKeyStore, IndexedDbTrustRecords } from '../../../mesh/identity/index.ts';
import { joinWithIdentity } from '../../../mesh/identity/join.ts';
import { createTabRuntime } from '../../../web/src/peer/tab-runtime.ts';
import type { Mesh } from '../../../mesh/mesh.ts';
import type { PageToWorker, WorkerToPage } from './messages.ts';

let mesh: Mesh | undefined;
let worker: Worker | undefined;
let events: WorkerToPage[] = [];
const linkEvents: Array<{ peer: string; state: string; at: number }> = [];

const api = {
  /** Joins as `peerId`; resolves once the worker agent is registered and signaling is open. */
  async start(peerId: string, apiKey: string, probeType: string): Promise<void> {
    const client = new RegistryClient({ baseUrl: location.origin, apiKey, peerId });
    const tab = createTabRuntime({
      registry: client,
      peerId,
      proveIdentity: () => joinWithIdentity({ registry: client, peerId, keyStore: new IndexedDbKeyStore(), records: new IndexedDbTrustRecords() }),
      presence: { hostname: 'fault-tab' },
      onRevoked: () => {},
    });
    mesh = tab.mesh;
    mesh.events.on('link_state', (peer, state) => linkEvents.push({ peer, state, at: Date.now() }));
    worker = new Worker('/tab-worker.js', { name: 'fault-agent' });
    const ipc = new MessageChannel();
    ipc.port1.start();
    attachPort(tab.hub, ipc.port1, () => worker?.terminate());
    const ready = new Promise<void>((resolve) => {
      worker!.onmessage = (ev: MessageEvent<WorkerToPage>) => {
        if (ev.data.ev === 'ready') resolve();
        else events.push(ev.data);
      };
    });
    worker.postMessage({ ctl: 'init', name: 'tab-agent', probeType } satisfies PageToWorker, [ipc.port2]);
    const open = new Promise<void>((resolve) => tab.signaling.on('connected', () => resolve()));
    await Promise.all([ready, open, tab.join()]);
  },
  /** Passes a command to the worker agent (send, stall). */
  tell(m: PageToWorker): void {
    worker!.postMessage(m);
  },
  /** Everything the worker reported since the last call. */
  drain(): WorkerToPage[] {
    const out = events;
    events = [];
    return out;
  },
  links: (): string[] => mesh?.peers() ?? [],
  /** the current connection's id: unchanged after an ICE restart, new after a fresh connection */
  connectionId: (peer: string): string | undefined => mesh?.link(peer)?.connectionId,
  linkEvents: () => linkEvents.splice(0),
  /** the selected candidate pair of each link: host/srflx/prflx (direct) or relay (TURN) */
  paths: async (): Promise<Record<string, string>> => Object.fromEntries((await mesh!.linkStats()).map((l) => [l.peer_id, l.path])),
};
(globalThis as unknown as { faultTab: typeof api }).faultTab = api;
