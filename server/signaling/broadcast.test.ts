import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { Broadcast } from './hub.ts';

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
  assert.deepEqual(got, texts.map((text) => ({ text, binary: false })));
});
