// Reachability probe for lab tests, run inside a namespace:
//   serve <ip> <port>       echo server on TCP and UDP (prints "ready")
//   tcp|udp <ip> <port>     exit 0 if the echo comes back within 1 s, else 1
//   http <url>              exit 0 and print the body if a GET answers within 2 s
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, host, portArg] = process.argv.slice(2);
const port = Number(portArg);
const fail = (ms) => setTimeout(() => process.exit(1), ms);

if (mode === 'serve') {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => u.send(m, r.port, r.address));
  u.bind(port, host, () => {
    net.createServer((c) => c.pipe(c)).listen(port, host, () => console.log('ready'));
  });
} else if (mode === 'udp') {
  fail(1000);
  const u = dgram.createSocket('udp4');
  u.on('message', () => process.exit(0));
  u.on('error', () => process.exit(1));
  u.send('x', port, host);
} else if (mode === 'tcp') {
  fail(1000);
  const c = net.connect(port, host, () => c.write('x'));
  c.on('data', () => process.exit(0));
  c.on('error', () => process.exit(1));
} else if (mode === 'http') {
  fail(2000);
  fetch(host).then(
    async (r) => {
      console.log(r.status, await r.text());
      process.exit(r.ok ? 0 : 1);
    },
    () => process.exit(1),
  );
} else {
  console.error('usage: netcheck.mjs serve|tcp|udp <ip> <port> | http <url>');
  process.exit(2);
}
