// Bounded resources per caller: signaling sockets that have not authenticated, and event streams
// per peer id. A flood is refused with a readable error; everyone else keeps working.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { registeredPeer, waitFor } from './test-support.ts';

let r: RegistryProcess;
before(async () => {
  r = await startRegistry({ env: { MAX_UNAUTHENTICATED_SOCKETS: '3', MAX_EVENT_STREAMS_PER_PEER: '2' } });
});
after(async () => r?.stop());

type Bare = { ws: WebSocket } | { close: number; error: { code?: string; message?: string } };

/**
 * Opens /ws without a token: answers the socket while it stays open (a waiting socket hears
 * nothing), or the error frame and close code of a refused one.
 */
function openBare(): Promise<Bare> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(r.wsUrl);
    let error = {};
    let quiet: ReturnType<typeof setTimeout>;
    ws.once('open', () => (quiet = setTimeout(() => resolve({ ws }), 300)));
    ws.on('message', (d) => (error = (JSON.parse(String(d)) as { payload: object }).payload));
    ws.once('close', (close) => {
      clearTimeout(quiet);
      resolve({ close, error });
    });
    ws.once('error', reject);
  });
}

test('sockets waiting to authenticate are capped: the next one hears busy and 4008, token holders still join', async () => {
  const waiting = await Promise.all([openBare(), openBare(), openBare()]);
  assert.ok(
    waiting.every((w) => 'ws' in w),
    'three sockets without a token are accepted',
  );
  const refused = await openBare();
  assert.ok('close' in refused && refused.close === 4008, `the fourth: ${JSON.stringify(refused)}`);
  assert.equal(refused.error.code, 'busy');
  assert.match(refused.error.message ?? '', /retry/);

  // A peer with a token in the upgrade is not held back by the waiting crowd.
  const tok = await r.token(await r.issueApiKey('lim-a'));
  const a = await registeredPeer(r.wsUrl, tok, 'lim-a');

  // One waiting socket authenticates with a frame: it no longer counts, so a new bare socket fits.
  const first = (waiting[0] as { ws: WebSocket }).ws;
  const tokB = await r.token(await r.issueApiKey('lim-b'));
  first.send(JSON.stringify({ type: 'auth', peer_id: '', payload: { token: tokB } }));
  const again = await waitFor(
    'room for a bare socket',
    async () => {
      const w = await openBare();
      if ('ws' in w) return w;
      return undefined;
    },
    5000,
    100,
  );
  for (const w of [...waiting, again]) if ('ws' in w) w.ws.close();
  a.sock.close();
  await a.sock.closed;
  // Closed waiting sockets free their places.
  await waitFor(
    'three bare sockets again',
    async () => {
      const ws = await Promise.all([openBare(), openBare(), openBare()]);
      for (const w of ws) if ('ws' in w) w.ws.close();
      return ws.every((w) => 'ws' in w);
    },
    5000,
    100,
  );
});

test('event streams per peer id are capped: the next gets 429, other peers and freed places work', async () => {
  const tok = await r.token(await r.issueApiKey('lim-sse'));
  const other = await r.token(await r.issueApiKey('lim-other'));
  const open = async (token: string) => {
    const ac = new AbortController();
    const res = await fetch(`${r.url}/api/events`, { headers: { Authorization: `Bearer ${token}` }, signal: ac.signal });
    return { res, close: () => ac.abort() };
  };
  const s1 = await open(tok);
  const s2 = await open(tok);
  assert.deepEqual([s1.res.status, s2.res.status], [200, 200]);
  const s3 = await open(tok);
  assert.equal(s3.res.status, 429);
  const body = (await s3.res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'rate_limited');
  assert.match(body.error.message, /MAX_EVENT_STREAMS_PER_PEER/);
  const o = await open(other);
  assert.equal(o.res.status, 200, "another peer's stream is not affected");
  s1.close();
  const s4 = await waitFor(
    'a freed place',
    async () => {
      const s = await open(tok);
      if (s.res.status === 200) return s;
      await s.res.body?.cancel();
      return undefined;
    },
    5000,
    100,
  );
  for (const s of [s2, s4, o]) s.close();
  assert.equal((await fetch(`${r.url}/healthz`)).status, 200);
});
