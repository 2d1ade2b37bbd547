/**
 * The isomorphic mesh core. Written only against the W3C RTCPeerConnection /
 * RTCDataChannel API and an injected WebSocket constructor, so the same code runs in a tab
 * (native WebRTC) and in Node (node-datachannel/polyfill + ws).
 *
 * A peer is wired once, in PeerRuntime (runtime.ts): SignalingClient → Mesh → AgentHub, presence in
 * the registry, config refresh, certificate renewal, revocation. The sidecar (sidecar-node/sidecar.ts)
 * and the tab (web/src/peer/tab-runtime.ts) only inject what differs.
 */
export { SignalingClient, CLOSE_REPLACED, CLOSE_REFUSED, CLOSE_RATE_LIMIT } from './signaling-client.ts';
export type { SignalingClientOptions, SignalingEvents } from './signaling-client.ts';
export { PeerLink, LinkError } from './peer-link.ts';
export type { PeerLinkOptions, PeerLinkEvents, LinkAuth, LinkSignal } from './peer-link.ts';
export { randomId } from './ids.ts';
export { Mesh, MeshError, reply } from './mesh.ts';
export type { MeshOptions, MeshEvents, MessageHandler, RequestOptions, BroadcastResult } from './mesh.ts';
export { AgentHub, messageLine } from './agent-hub.ts';
export type { AgentConnection, AttachedAgent, AgentHubOptions, BuiltinSkill, IpcLine } from './agent-hub.ts';
export { FrameError, MAX_FRAME_BYTES, CHUNK_BYTES, CAPS } from './framing.ts';
export { Emitter } from './emitter.ts';
export { PeerRuntime } from './runtime.ts';
export type { PeerRuntimeOptions } from './runtime.ts';
export { Backoff, sleep } from './backoff.ts';
export { readPath } from './stats.ts';
export { quietLogger, silentLogger } from './types.ts';
export type { RTCPeerConnectionCtor, WebSocketCtor, WebSocketLike, Logger, LinkInfo, LinkState, PathType, SkillCall, SkillInfo } from './types.ts';
export * from './agent/index.ts';
