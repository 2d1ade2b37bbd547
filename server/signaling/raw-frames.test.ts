import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Socket, type AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { Broadcast, rawFrameSink, rawWritesSupported, tcpSocketOf } from './raw-frames.ts';

// ws's frame parser is exported at runtime but missing from its type definitions.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (o: { isServer: boolean }) => Writable };

test('a Broadcast frame is one valid WebSocket text frame for short, 16-bit and 64-bit lengths', async () => {
  // ws's own client-side parser reads the prebuilt frames back, so the framing matches the RFC as ws implements it.
  const texts = ['{"type":"peer_joined"}', JSON.stringify({ x: 'é'.repeat(200) }), JSON.stringify({ x: 'a'.repeat(70_000) })];
  const receiver = new Receiver({ isServer: false });
  const got: { text: string; binary: boolean }[] = [];
  receiver.on('message', (data: Buffer, binary: boolean) => got.push({ text: data.toString(), binary }));
  await new Promise<void>((resolve, reject) => {
    receiver.on('error', reject);
    receiver.write(Buffer.concat(texts.map((t) => new Broadcast(t).frame)), () => resolve());
  });
  assert.deepEqual(
    got,
    texts.map((text) => ({ text, binary: false })),
  );
});

/** A real ws server and client on loopback; returns the server side of the connection. */
async function pair(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise((r) => wss.once('listening', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate });
  const received: string[] = [];
  client.on('message', (d) => received.push(String(d)));
  await new Promise((r) => client.once('open', r));
  const server = await accepted;
  return { server, received, close: () => (client.terminate(), wss.close()) };
}

test('the installed ws is a version whose TCP socket the hub may cork and write prebuilt frames to', async () => {
  assert.ok(rawWritesSupported, 'ws was upgraded past the versions raw-frames.ts knows: check its `_socket` and add the major');
  const p = await pair(false);
  try {
    assert.ok(tcpSocketOf(p.server) instanceof Socket);
    const raw = rawFrameSink(p.server)!;
    assert.ok(raw, 'no permessage-deflate: frames may go to the socket as they are');
    // Raw frames and ws.send frames interleaved keep their order on the wire.
    raw.cork();
    p.server.send('1');
    raw.write(new Broadcast('2').frame);
    p.server.send('3');
    raw.write(Buffer.concat([new Broadcast('4').frame, new Broadcast('5').frame]));
    raw.uncork();
    for (let i = 0; i < 100 && p.received.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(p.received, ['1', '2', '3', '4', '5']);
  } finally {
    p.close();
  }
});

test('with permessage-deflate negotiated, no frame is written past ws', async () => {
  const p = await pair(true);
  try {
    assert.notEqual(p.server.extensions, '');
    assert.equal(rawFrameSink(p.server), undefined);
  } finally {
    p.close();
  }
});
