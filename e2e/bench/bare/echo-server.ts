/**
 * The IPC baseline: a bare Unix-socket JSON-line echo in its own process. Each line is parsed and
 * re-encoded (the least any JSON-lines peer does), then written back. Prints `{"ready":true}`.
 */
import { createServer } from 'node:net';

const path = process.argv[2];
if (!path) {
  console.error('usage: echo-server.ts <socket path>');
  process.exit(2);
}
const server = createServer((sock) => {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (s: string) => {
    buf += s;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        sock.write(JSON.stringify(JSON.parse(line)) + '\n');
      } catch {
        sock.write('{"type":"error"}\n');
      }
    }
  });
  sock.on('error', () => {});
});
server.listen(path, () => console.log(JSON.stringify({ ready: true })));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
