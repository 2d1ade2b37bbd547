/** One bare node-datachannel peer per process (as the product runs one sidecar per peer). */
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import { runBarePeer } from './peer-core.ts';

const [relayUrl, id] = process.argv.slice(2);
if (!relayUrl || !id) {
  console.error('usage: node-peer.ts <relayUrl> <id>');
  process.exit(2);
}
runBarePeer(
  {
    RTCPeerConnection: RTCPeerConnection as unknown as new (cfg?: RTCConfiguration) => globalThis.RTCPeerConnection,
    WebSocket: WebSocket as unknown as new (url: string) => globalThis.WebSocket,
    now: () => performance.timeOrigin + performance.now(),
    exit: () => setTimeout(() => process.exit(0), 50),
  },
  relayUrl,
  id,
);
process.on('SIGTERM', () => process.exit(0));
