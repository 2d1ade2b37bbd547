/** The PeerJS signaling server (npm `peer`) in its own process on 127.0.0.1; prints `{"ready":true,"port":N}`. */
import { PeerServer } from 'peer';

const server = PeerServer(
  {
    host: '127.0.0.1',
    port: Number(process.argv[2] ?? 0),
    path: '/',
    key: 'peerjs',
    // room for the load scenario (default 5,000) and no expiry during a run
    concurrent_limit: 20000,
    alive_timeout: 600000,
    expire_timeout: 600000,
  },
  (http) => {
    const a = http.address();
    console.log(JSON.stringify({ ready: true, port: typeof a === 'object' && a ? a.port : 0 }));
  },
);
server.on('error', (e) => console.error('peer server error', e));
process.on('SIGTERM', () => process.exit(0));
