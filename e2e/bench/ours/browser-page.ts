/**
 * OUR mesh core in a Chromium page (what the PWA's tab runs: SignalingClient + Mesh with the
 * browser's own RTCPeerConnection and WebSocket), driven by the bench through `window.bench`.
 * With a hub, an AgentHub and one worker agent (worker-agent.ts) sit on top, as in the PWA:
 * the round trip then goes worker → postMessage → hub → mesh → DataChannel → … and back.
 */
import { Mesh, SignalingClient, AgentHub, attachPort, type RTCPeerConnectionCtor, type WebSocketCtor } from '../../../mesh/index.ts';
import { RegistryClient } from '../../../mesh/registry-client.ts';
import { MemoryKeyStore, MemoryTrustRecords } from '../../../mesh/identity/index.ts';
import { joinWithIdentity } from '../../../mesh/identity/join.ts';
import { meshBench, type MeshBench } from './mesh-bench.ts';

/**
 * REST calls go through the bench (page.exposeFunction) so the page can stay cross-origin isolated
 * (5 µs timers) without the registry having to answer CORS.
 */
declare const benchFetch: (
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | null,
) => Promise<{ status: number; headers: Record<string, string>; body: string }>;
const proxyFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((v, k) => {
    headers[k] = v;
  });
  const r = await benchFetch(String(input), init?.method ?? 'GET', headers, typeof init?.body === 'string' ? init.body : null);
  return new Response(r.status === 204 ? null : r.body, { status: r.status, headers: r.headers });
}) as typeof fetch;

interface Peer {
  mesh: Mesh;
  signaling: SignalingClient;
  bench: MeshBench;
  worker?: Worker;
  ctl?: MessagePort;
  opens: Record<string, number>;
}
const peers = new Map<number, Peer>();
let nextHandle = 1;
const now = () => performance.now();

const api = {
  /**
   * Joins the mesh as `peerId` with a JWT minted by the bench; resolves once registered. Like the
   * PWA's tab it gets a device certificate from the registry and proves its identity on every link
   * (the sidecars require it).
   */
  async start(wsUrl: string, registryUrl: string, peerId: string, token: string, withHub: boolean, autoConnect: boolean): Promise<number> {
    const registry = new RegistryClient({ baseUrl: registryUrl, token, fetch: proxyFetch });
    const joined = await joinWithIdentity({ registry, peerId, keyStore: new MemoryKeyStore(), records: new MemoryTrustRecords() });
    const signaling = new SignalingClient({ url: wsUrl, peerId, WebSocket: WebSocket as unknown as WebSocketCtor, getToken: async () => token });
    const mesh = new Mesh({
      signaling,
      RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
      iceServers: () => [],
      autoConnect,
      iceRestart: true,
      linkAuth: joined.linkAuth,
    });
    const p: Peer = { mesh, signaling, bench: meshBench(mesh, now), opens: {} };
    // wall-clock time of each link opening, for the formation scenario
    mesh.events.on('peer_connected', (id) => {
      p.opens[id] = performance.timeOrigin + performance.now();
    });
    mesh.events.on('peer_disconnected', (id) => {
      delete p.opens[id];
    });
    if (withHub) {
      const hub = new AgentHub({ mesh });
      const worker = new Worker('/ours-worker.js');
      attachPort(hub, worker, () => worker.terminate());
      const ch = new MessageChannel();
      worker.postMessage({ bench_port: ch.port2 }, [ch.port2]);
      p.worker = worker;
      p.ctl = ch.port1;
    }
    const registered = new Promise<void>((r) => signaling.on('connected', () => r()));
    signaling.start();
    await registered;
    const h = nextHandle++;
    peers.set(h, p);
    return h;
  },
  opens: (h: number) => ({ ...peers.get(h)!.opens }),
  connect: (h: number, peer: string) => peers.get(h)!.bench.connect(peer),
  throughput: (h: number, peer: string, bytes: number, msgBytes: number) => peers.get(h)!.bench.throughput(peer, bytes, msgBytes),
  meshPing: (h: number, peer: string, n: number) => peers.get(h)!.bench.ping(peer, n),
  /** n round trips worker agent → … → remote agent → … → worker agent, timed inside the worker. */
  workerPing(h: number, peer: string, n: number): Promise<number[]> {
    const ctl = peers.get(h)!.ctl!;
    return new Promise((resolve, reject) => {
      ctl.onmessage = (ev) => (ev.data.error ? reject(new Error(ev.data.error)) : resolve(ev.data.rtts));
      ctl.postMessage({ cmd: 'ping', target: peer, n });
    });
  },
  stop(h: number) {
    const p = peers.get(h);
    if (!p) return;
    p.worker?.terminate();
    p.mesh.close();
    p.signaling.stop();
    peers.delete(h);
  },
};
(globalThis as unknown as { bench: typeof api }).bench = api;
