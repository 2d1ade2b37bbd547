/**
 * The peer runtime (mesh/runtime.ts) as every tab runs it: the browser's own WebSocket and
 * RTCPeerConnection, ICE restart on, a smaller queue per worker agent, and LLM agents that call
 * skills through `delegate`. TabPeer builds the dashboard on top of it; the fault tests
 * (e2e/faults/tab/) run exactly this in Chromium.
 */
import { PeerRuntime, type PeerRuntimeOptions } from '../../../mesh/runtime.ts';
import type { RTCPeerConnectionCtor, WebSocketCtor } from '../../../mesh/types.ts';

/** A tab is not a server: a worker agent that stops reading may hold at most this much queued. */
const AGENT_QUEUE_BYTES = 16 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

export type TabRuntimeOptions = Omit<PeerRuntimeOptions, 'WebSocket' | 'RTCPeerConnection' | 'iceRestart' | 'maxQueuedBytes' | 'delegate' | 'presence'> & {
  presence: Omit<PeerRuntimeOptions['presence'], 'mode' | 'intervalMs'>;
};

export function createTabRuntime(o: TabRuntimeOptions): PeerRuntime {
  return new PeerRuntime({
    ...o,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
    iceRestart: true,
    maxQueuedBytes: AGENT_QUEUE_BYTES,
    delegate: true,
    presence: { mode: 'browser', intervalMs: HEARTBEAT_MS, ...o.presence },
  });
}
