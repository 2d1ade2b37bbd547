/** Test-only: a mesh peer in this process on node-datachannel's polyfill and ws. */
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import { Mesh, type MeshOptions } from '../mesh.ts';
import { SignalingClient } from '../signaling-client.ts';
import type { RTCPeerConnectionCtor, WebSocketCtor } from '../types.ts';
import { silentLogger } from '../types.ts';

export function nodePeer(url: string, peerId: string, opts: Partial<MeshOptions> = {}) {
  const signaling = new SignalingClient({
    url,
    peerId,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    getToken: async () => peerId,
    logger: silentLogger,
  });
  const mesh = new Mesh({
    signaling,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    logger: process.env.DEBUG_MESH ? console : silentLogger,
    ...opts,
  });
  return {
    signaling,
    mesh,
    start: () => signaling.start(),
    stop: () => {
      mesh.close();
      signaling.stop();
    },
  };
}

/** Polls `cond` until true or the deadline passes (then throws with `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
