// Runs INSIDE a lab namespace (started by ns-bridge.ts through `ip netns exec`). It listens on
// the given address and hands each accepted socket to the parent process in the root namespace
// over the IPC channel; the parent connects it to a loopback service. No data passes through here.
import net from 'node:net';

const [host, port] = [process.argv[2], Number(process.argv[3])];
if (!process.send) {
  console.error('ns-listener needs an IPC channel');
  process.exit(2);
}
const server = net.createServer({ pauseOnConnect: true }, (sock) => {
  process.send({ type: 'conn' }, sock, { keepOpen: false }, () => {
    /* handle now owned by parent */
  });
});
server.on('error', (e) => {
  console.error('ns-listener:', e.message);
  process.exit(1);
});
server.listen(port, host, () => process.send({ type: 'listening' }));
process.on('disconnect', () => process.exit(0));
