/** The bare peer in a Chromium page: `?relay=ws://…&id=…`. Bundled with esbuild by the bench. */
import { runBarePeer } from './peer-core.ts';

const q = new URLSearchParams(location.search);
runBarePeer(
  {
    RTCPeerConnection,
    WebSocket,
    now: () => performance.timeOrigin + performance.now(),
    exit: () => {},
  },
  q.get('relay')!,
  q.get('id')!,
);
