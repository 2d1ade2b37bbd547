// A registry the network has cut off drops packets instead of refusing: requests must not hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { RegistryClient, RegistryError } from './registry-client.ts';

test('a request to a registry that accepts but never answers fails as network after requestTimeoutMs', async () => {
  // Accepts TCP connections and reads, never writes: what a client sees once a path goes silent.
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('data', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const { port } = silent.address() as AddressInfo;
  try {
    const client = new RegistryClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'x.y.z', requestTimeoutMs: 500 });
    const t0 = Date.now();
    const err = await client.listAgents().then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - t0;
    assert.ok(err instanceof RegistryError, `got ${String(err)}`);
    assert.equal(err.code, 'network');
    assert.match(err.message, /did not answer within 0.5 s/);
    assert.ok(took < 5000, `it waited ${took} ms`);
    // A caller's own abort is still an abort, not a timeout.
    const ac = new AbortController();
    const pending = client.request('GET', '/api/registry/agents', undefined, ac.signal).then(
      () => undefined,
      (e: Error) => e,
    );
    ac.abort();
    assert.equal((await pending)?.name, 'AbortError');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});
