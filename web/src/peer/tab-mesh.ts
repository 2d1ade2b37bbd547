/**
 * The mesh core as every tab wires it: SignalingClient + Mesh on the browser's own WebSocket and
 * RTCPeerConnection (ICE restart on), and the AgentHub its worker agents attach to, with the skill
 * policy enforced by the identity each link proved. TabPeer builds the dashboard on top of it; the
 * fault tests (e2e/faults/tab/) run exactly this in Chromium.
 */
import { AgentHub, Mesh, SignalingClient, type RTCPeerConnectionCtor, type WebSocketCtor } from '../../../mesh/index.ts';
import type { RegistryClient } from '../../../mesh/registry-client.ts';
import { skillGuard, type JoinedIdentity } from '../../../mesh/identity/join.ts';
import type { IceConfig } from '../../../mesh/protocol/index.ts';

/** A tab is not a server: a worker agent that stops reading may hold at most this much queued. */
const AGENT_QUEUE_BYTES = 16 * 1024 * 1024;

export interface TabMeshOptions {
  client: RegistryClient;
  peerId: string;
  /** the latest ICE configuration from /api/config (TabPeer refreshes it) */
  ice: () => IceConfig;
  joined: JoinedIdentity | null;
}

export function createTabMesh(o: TabMeshOptions): { signaling: SignalingClient; mesh: Mesh; hub: AgentHub } {
  const signaling = new SignalingClient({
    url: o.client.signalingUrl(),
    peerId: o.peerId,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    getToken: (refresh) => o.client.token(refresh),
  });
  const policy = o.ice().iceTransportPolicy;
  // eslint-disable-next-line prefer-const
  let hub: AgentHub;
  const mesh = new Mesh({
    signaling,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    iceServers: () => o.ice().iceServers as RTCIceServer[],
    ...(policy ? { iceTransportPolicy: policy } : {}),
    iceRestart: true,
    skills: () => hub.skills(),
    ...(o.joined ? { linkAuth: o.joined.linkAuth } : {}),
  });
  hub = new AgentHub({
    mesh,
    maxQueuedBytes: AGENT_QUEUE_BYTES,
    ...(o.joined ? { authorize: skillGuard(o.joined.linkAuth, () => o.ice().skill_policy) } : {}),
  });
  return { signaling, mesh, hub };
}
