/**
 * One peer running OUR mesh core in a Node process (node-datachannel/polyfill + ws), wired the
 * way the sidecar wires it (identity proofs included), without the IPC socket: for measuring
 * `Mesh.send` itself.
 * Forked with an IPC channel: messages {id, cmd, args} → {id, ok, value | error}.
 * Env: REGISTRY_URL, API_KEY.
 */
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import { Mesh, SignalingClient, type RTCPeerConnectionCtor, type WebSocketCtor } from '../../../mesh/index.ts';
import { RegistryClient } from '../../../mesh/registry-client.ts';
import { MemoryKeyStore, MemoryTrustRecords } from '../../../mesh/identity/index.ts';
import { joinWithIdentity } from '../../../mesh/identity/join.ts';
import { meshBench } from './mesh-bench.ts';

const registry = new RegistryClient({ baseUrl: process.env.REGISTRY_URL!, apiKey: process.env.API_KEY! });
await registry.token(true);
const peerId = registry.peer!.peer_id;
// like the sidecar: a device certificate, and an identity proof on every link
const joined = await joinWithIdentity({ registry, peerId, keyStore: new MemoryKeyStore(), records: new MemoryTrustRecords() });
const signaling = new SignalingClient({
  url: process.env.REGISTRY_URL!.replace(/^http/, 'ws') + '/ws',
  peerId,
  WebSocket: WebSocket as unknown as WebSocketCtor,
  getToken: (refresh) => registry.token(refresh),
});
const mesh = new Mesh({
  signaling,
  RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
  iceServers: () => [],
  iceRestart: false,
  linkAuth: joined.linkAuth,
});
const bench = meshBench(mesh, () => performance.now());
signaling.on('connected', () => process.send!({ ready: true, peerId }));
signaling.start();

process.on('message', async (m: { id: number; cmd: keyof typeof bench; args: unknown[] }) => {
  try {
    const value = await (bench[m.cmd] as (...a: unknown[]) => Promise<unknown>)(...m.args);
    process.send!({ id: m.id, ok: true, value });
  } catch (e) {
    process.send!({ id: m.id, ok: false, error: String(e) });
  }
});
process.on('SIGTERM', () => {
  mesh.close();
  signaling.stop?.();
  process.exit(0);
});
