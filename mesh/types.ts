/**
 * What the mesh core needs from its host, injected so the same code runs in a tab (browser globals)
 * and in Node (`node-datachannel/polyfill` and `ws`). Nothing here imports node:* modules.
 */

/** The W3C RTCPeerConnection constructor (native in the browser, the polyfill in Node). */
export type RTCPeerConnectionCtor = new (config?: RTCConfiguration) => RTCPeerConnection;

/** The subset of the WHATWG WebSocket the signaling client uses; `ws` and the browser both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface Logger {
  debug(msg: string, ...rest: unknown[]): void;
  info(msg: string, ...rest: unknown[]): void;
  warn(msg: string, ...rest: unknown[]): void;
  error(msg: string, ...rest: unknown[]): void;
}

/** Default logger: warnings and errors only, so libraries stay quiet unless asked. */
export const quietLogger: Logger = {
  debug() {},
  info() {},
  warn: (m, ...r) => console.warn(m, ...r),
  error: (m, ...r) => console.error(m, ...r),
};

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** How a skill is being called: by whom, and how to stream to the requester or learn that it gave up. */
export interface SkillCall {
  /** Peer the request came from (our own peer id for local callers and the registry queue). */
  fromPeer: string;
  sourceAgent?: string | undefined;
  requestId?: string | undefined;
  /** Streams a piece of the answer (`task_stream_chunk`, done: false) before the final result. */
  stream(text: string): void;
  /** Aborted when the requester cancels (a `cancel` message); pass it on to the work (a provider call). */
  signal: AbortSignal;
}

/** Path type of a link's selected ICE candidate pair (the topology shows it on the edge). */
export type PathType = 'host' | 'srflx' | 'prflx' | 'relay' | 'unknown';

/** One open or opening link, as `Mesh.linkStats()` and the heartbeat's `links` report it. */
export interface LinkInfo {
  peer_id: string;
  state: LinkState;
  path: PathType;
  rtt_ms?: number;
  /** Whether the remote speaks this core's extensions (chunking, keepalive). False for the Rust sidecar. */
  extended: boolean;
}

export type LinkState = 'new' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A skill as agents announce it and `skill_query` reports it (name, description, args schema). */
export type { SkillSpec as SkillInfo } from './protocol/skills.ts';
