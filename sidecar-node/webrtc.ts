/**
 * The WebRTC implementation a sidecar runs on: node-datachannel (libdatachannel, native) wherever
 * npm carries its binary (x86-64, arm64), else werift (pure TypeScript, no binary: 32-bit ARM Pis).
 * Only the chosen one is loaded; one log line says which and why (docs/pi.md).
 */
import type { Logger, RTCPeerConnectionCtor } from '../mesh/types.ts';
import { LIMITS } from '../mesh/protocol/limits.ts';
import { encodeForLibdatachannel } from './ice.ts';

export const WEBRTC_STACKS = ['node-datachannel', 'werift'] as const;
export type WebRtcStackName = (typeof WEBRTC_STACKS)[number];

export interface WebRtcStack {
  name: WebRtcStackName;
  RTCPeerConnection: RTCPeerConnectionCtor;
  /** The ICE servers as this implementation reads them. */
  iceServers(servers: RTCIceServer[]): RTCIceServer[];
}

/** Loads `choice`, or (none given) node-datachannel when its binary loads here, else werift. */
export async function loadWebRtcStack(choice: WebRtcStackName | undefined, log: Logger): Promise<WebRtcStack> {
  const here = `${process.platform}-${process.arch}`;
  let nativeMissing = '';
  if (choice !== 'werift') {
    try {
      const { RTCPeerConnection } = await import('node-datachannel/polyfill');
      log.info(`[webrtc] using node-datachannel (native libdatachannel) on ${here}${choice ? ', as WEBRTC_STACK asks' : ''}`);
      return { name: 'node-datachannel', RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor, iceServers: encodeForLibdatachannel };
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
      if (choice) throw new Error(`WEBRTC_STACK=node-datachannel, but it does not load on ${here}: ${why}`);
      nativeMissing = why;
    }
  }
  const werift = await import('werift');
  // Loaded as CommonJS under some bundlers, the module is then its `default`.
  const mod: typeof werift = 'RTCPeerConnection' in werift ? werift : Reflect.get(werift, 'default');
  const { RTCPeerConnection } = mod;
  log.info(
    nativeMissing
      ? `[webrtc] using werift (pure TypeScript) on ${here}: node-datachannel does not load here (${nativeMissing})`
      : `[webrtc] using werift (pure TypeScript) on ${here}, as WEBRTC_STACK asks`,
  );
  // werift announces a 64 KiB max-message-size by default, where libdatachannel and browsers take
  // the 256 KiB frames of this core: announce (and accept) those too.
  class WeriftPeerConnection extends RTCPeerConnection {
    constructor(config: RTCConfiguration = {}) {
      super({ ...(config as object), maxMessageSize: LIMITS.dataChannelFrameBytes });
    }
  }
  // werift takes raw TURN credentials (no URL encoding, unlike libdatachannel).
  return { name: 'werift', RTCPeerConnection: WeriftPeerConnection as unknown as RTCPeerConnectionCtor, iceServers: (s) => s };
}
