/**
 * The mesh core as every tab wires it: SignalingClient + Mesh on the browser's own WebSocket and
 * RTCPeerConnection (ICE restart on), and the AgentHub its worker agents attach to, with the skill
 * policy enforced by the identity each link proved. TabPeer builds the dashboard on top of it; the
 * fault tests (e2e/faults/tab/) run exactly this in Chromium.
 */
import { AgentHub, Mesh, SignalingClient, type RTCPeerConnectionCtor, type WebSocketCtor } from '../../../mesh/index.ts';
import type { LinkAuth } from '../../../mesh/link/identity-gate.ts';
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
  /**
   * This browser's proven identity, once the registry has issued its certificate: the mesh is built
   * before (its agents run while the registry is unreachable), and no link opens before signaling.
   */
  joined: () => JoinedIdentity | null;
}

/** Proofs with the identity of the moment; without one, links open without proofs (peers that require them refuse). */
function currentLinkAuth(joined: () => JoinedIdentity | null): LinkAuth {
  const auth = () => joined()?.linkAuth;
  return {
    required: (p) => {
      const a = auth();
      return a ? (a.required?.(p) ?? true) : false;
    },
    proofFrame: (p, conn) => auth()!.proofFrame(p, conn),
    check: (p, conn, text) => auth()!.check(p, conn, text),
    refusal: (c) => auth()!.refusal(c),
  };
}

export function createTabMesh(o: TabMeshOptions): { signaling: SignalingClient; mesh: Mesh; hub: AgentHub } {
  const signaling = new SignalingClient({
    url: o.client.signalingUrl(),
    peerId: o.peerId,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    getToken: (refresh) => o.client.token(refresh),
  });
  const policy = o.ice().iceTransportPolicy;
  let hub: AgentHub;
  const mesh = new Mesh({
    signaling,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    iceServers: () => o.ice().iceServers as RTCIceServer[],
    ...(policy ? { iceTransportPolicy: policy } : {}),
    iceRestart: true,
    skills: () => hub.skills(),
    linkAuth: currentLinkAuth(o.joined),
  });
  hub = new AgentHub({
    mesh,
    maxQueuedBytes: AGENT_QUEUE_BYTES,
    authorize: (from, msg) => {
      const j = o.joined();
      return j ? skillGuard(j.linkAuth, () => o.ice().skill_policy)(from, msg) : { allowed: true, reason: 'no device certificate' };
    },
  });
  return { signaling, mesh, hub };
}
