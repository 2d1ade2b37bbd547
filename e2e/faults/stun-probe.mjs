// Exits 0 when a STUN Binding request to <host> <port> (UDP) is answered within 500 ms, else 1.
// Started inside a lab namespace to check that coturn is ready there.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [host, port] = [process.argv[2], Number(process.argv[3])];
const s = dgram.createSocket('udp4');
const req = Buffer.alloc(20);
req.writeUInt16BE(0x0001, 0); // Binding request, no attributes
req.writeUInt32BE(0x2112a442, 4); // magic cookie
randomBytes(12).copy(req, 8);
setTimeout(() => process.exit(1), 500);
s.on('message', () => process.exit(0));
s.on('error', () => process.exit(1));
s.send(req, port, host);
