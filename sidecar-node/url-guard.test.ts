// guardedFetch against a real HTTP server on loopback, with a resolver the test controls: the
// addresses a connection uses are the ones that were checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { guardedFetch, UrlRefused, type Resolve } from './url-guard.ts';

async function loopbackServer() {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.end('inside');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => requests,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** A resolver that answers each lookup with the next list (the last one repeats). */
function answers(...lists: string[][]): Resolve & { calls: number } {
  const resolve = Object.assign(
    async (_host: string): Promise<LookupAddress[]> => lists[Math.min(resolve.calls++, lists.length - 1)]!.map((address) => ({ address, family: 4 })),
    { calls: 0 },
  );
  return resolve;
}

test('a name that resolves to a public address for the check and to loopback for the connection is refused (DNS rebinding)', async (t) => {
  const inside = await loopbackServer();
  t.after(inside.close);
  const resolve = answers(['203.0.113.7'], ['127.0.0.1']);
  const fetchGuarded = guardedFetch([], 'A2A agent rebind', resolve);
  await assert.rejects(
    fetchGuarded(`http://rebind.example:${inside.port}/card`),
    (e: Error) => e instanceof UrlRefused && /rebind\.example points at 127\.0\.0\.1.*SSRF guard/.test(e.message),
  );
  assert.equal(resolve.calls, 2, 'checked once before the request and again when connecting');
  assert.equal(inside.requests(), 0, 'nothing reached the server inside');
});

test('the connection uses the checked answer: an allowed internal name connects, the same name not allowed does not', async (t) => {
  const inside = await loopbackServer();
  t.after(inside.close);
  const url = `http://agents.lan:${inside.port}/card`;
  const res = await guardedFetch(['agents.lan'], 'A2A agent lan', answers(['127.0.0.1']))(url);
  assert.equal(await res.text(), 'inside');
  await assert.rejects(
    guardedFetch([], 'A2A agent lan', answers(['127.0.0.1']))(url),
    /agents\.lan points at 127\.0\.0\.1.*add "agents\.lan" to allowPrivateNetworks/,
  );
  assert.equal(inside.requests(), 1);
});
