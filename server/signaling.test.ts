import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { TestSocket, forgeToken, registeredPeer, waitFor } from './test-support.ts';
import { LIMITS } from '../mesh/protocol/index.ts';

let r: RegistryProcess;
const tokens: Record<string, string> = {};

before(async () => {
  r = await startRegistry({ env: { RATE_SIGNAL_PER_S: '50' } });
  for (const p of ['sa', 'sb', 'sc', 'sd', 'se']) tokens[p] = await r.token(await r.issueApiKey(p));
});
after(async () => r?.stop());

test('auth by Sec-WebSocket-Protocol selects chatixia-jwt; register answers peer_list and tells the others', async () => {
  const a = await registeredPeer(r.wsUrl, tokens.sa!, 'sa');
  assert.equal(a.sock.ws.protocol, 'chatixia-jwt');
  assert.deepEqual(a.peers, []);
  const b = await registeredPeer(r.wsUrl, tokens.sb!, 'sb');
  assert.deepEqual(b.peers, ['sa']);
  const joined = await a.sock.next('peer_joined');
  assert.equal(joined.payload.peer_id, 'sb');
  b.sock.close();
  const left = await a.sock.next('peer_left');
  assert.equal(left.payload.peer_id, 'sb');
  a.sock.close();
  await a.sock.closed;
});

test('auth by ?token= and by a first auth frame both work', async () => {
  const q = await TestSocket.open(r.wsUrl, { token: tokens.sa!, query: true });
  q.send({ type: 'register', peer_id: 'sa', payload: {} });
  await q.next('peer_list');
  const f = await TestSocket.open(r.wsUrl);
  f.send({ type: 'auth', peer_id: '', payload: { token: tokens.sb } });
  f.send({ type: 'register', peer_id: 'sb', payload: {} });
  const list = await f.next('peer_list');
  assert.deepEqual(list.payload.peers, ['sa']);
  q.close();
  f.close();
  await Promise.all([q.closed, f.closed]);
});

test('a refused token (bad signature, alg none, expired, missing) ends with close 4003', async () => {
  const wrongKey = await forgeToken(r, { sub: 'sa', role: 'admin', exp: '5m' }, { key: 'x'.repeat(32) });
  const expired = await forgeToken(r, { sub: 'sa', role: 'agent', iat: 1000, exp: 2000 });
  const none = await forgeToken(r, { sub: 'sa', role: 'admin', exp: 9999999999 }, { unsigned: true });
  for (const bad of [wrongKey, expired, none]) {
    const s = await TestSocket.open(r.wsUrl, { token: bad });
    const closed = await s.closed;
    assert.equal(closed.code, 4003, `token ${bad.slice(0, 20)}…`);
    assert.ok(s.frames.some((f) => f.type === 'error' && f.payload.code === 'unauthorized'));
  }
  // No token: anything but an auth frame is refused.
  const s = await TestSocket.open(r.wsUrl);
  s.send({ type: 'register', peer_id: 'sa', payload: {} });
  assert.equal((await s.closed).code, 4003);
});

test('relay goes to target_id only; a forged peer_id is refused with an error frame', async () => {
  const a = await registeredPeer(r.wsUrl, tokens.sa!, 'sa');
  const b = await registeredPeer(r.wsUrl, tokens.sb!, 'sb');
  const c = await registeredPeer(r.wsUrl, tokens.sc!, 'sc');
  // c pretends to be a while offering to b.
  c.sock.send({ type: 'offer', peer_id: 'sa', target_id: 'sb', payload: { sdp: 'forged' } });
  const err = await c.sock.next('error');
  assert.equal(err.payload.code, 'forbidden');
  // a's real offer reaches b; b never saw the forged one (frames on one socket keep their order).
  a.sock.send({ type: 'offer', peer_id: 'sa', target_id: 'sb', payload: { sdp: 'real-offer' } });
  const got = await b.sock.next('offer');
  assert.equal(got.payload.sdp, 'real-offer');
  assert.equal(got.peer_id, 'sa');
  b.sock.send({ type: 'answer', peer_id: 'sb', target_id: 'sa', payload: { sdp: 'ans' } });
  b.sock.send({
    type: 'ice_candidate',
    peer_id: 'sb',
    target_id: 'sa',
    payload: { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  });
  assert.equal((await a.sock.next('answer')).payload.sdp, 'ans');
  assert.equal((await a.sock.next('ice_candidate')).payload.sdpMid, '0');
  // c (not the target) saw none of it.
  assert.ok(!c.sock.frames.some((f) => f.type === 'offer' || f.type === 'answer' || f.type === 'ice_candidate'));
  // Unknown target and missing target are errors, not crashes.
  a.sock.send({ type: 'offer', peer_id: 'sa', target_id: 'nobody', payload: { sdp: 'x' } });
  assert.equal((await a.sock.next('error')).payload.code, 'unknown_target');
  a.sock.send({ type: 'offer', peer_id: 'sa', payload: { sdp: 'x' } });
  assert.equal((await a.sock.next('error')).payload.code, 'invalid');
  // Registering as someone else is refused too.
  c.sock.send({ type: 'register', peer_id: 'sa', payload: {} });
  assert.equal((await c.sock.next('error')).payload.code, 'forbidden');
  for (const p of [a, b, c]) p.sock.close();
  await Promise.all([a.sock.closed, b.sock.closed, c.sock.closed]);
});

test('bad frames get error frames and the connection stays up', async () => {
  const a = await registeredPeer(r.wsUrl, tokens.sd!, 'sd');
  const cases: [string | Buffer, string][] = [
    ['{nope', 'bad_json'],
    [JSON.stringify({ type: 'explode', peer_id: 'sd', payload: {} }), 'unknown_type'],
    [JSON.stringify({ type: 'offer', peer_id: 'sd', target_id: 'sa', payload: { sdp: 42 } }), 'invalid'],
    [JSON.stringify({ type: 'peer_list', peer_id: 'sd', payload: { peers: [] } }), 'invalid'],
    [Buffer.from([1, 2, 3]), 'bad_frame'],
  ];
  for (const [frame, code] of cases) {
    a.sock.ws.send(frame);
    const e = await a.sock.next('error');
    assert.equal(e.payload.code, code, `frame ${String(frame).slice(0, 40)}`);
  }
  a.sock.send({ type: 'heartbeat', peer_id: 'sd', payload: {} });
  a.sock.send({ type: 'register', peer_id: 'sd', payload: {} });
  await a.sock.next('peer_list');
  a.sock.close();
  await a.sock.closed;
});

test('an oversize frame closes with 4008', async () => {
  const a = await registeredPeer(r.wsUrl, tokens.sd!, 'sd');
  a.sock.send({ type: 'offer', peer_id: 'sd', target_id: 'sa', payload: { sdp: 'x'.repeat(LIMITS.signalFrameBytes + 10) } });
  const closed = await a.sock.closed;
  assert.equal(closed.code, 4008);
  assert.ok(a.sock.frames.some((f) => f.type === 'error' && f.payload.code === 'too_large'));
});

test('a frame flood closes with 4008 (rate limit)', async () => {
  const a = await registeredPeer(r.wsUrl, tokens.se!, 'se');
  for (let i = 0; i < 400; i++) a.sock.send({ type: 'heartbeat', peer_id: 'se', payload: {} });
  const closed = await a.sock.closed;
  assert.equal(closed.code, 4008);
  assert.ok(a.sock.frames.some((f) => f.type === 'error' && f.payload.code === 'rate_limited'));
});

test('a second connection with the same peer id replaces the first with close 4001, without peer_left', async () => {
  const watcher = await registeredPeer(r.wsUrl, tokens.sa!, 'sa');
  const first = await registeredPeer(r.wsUrl, tokens.sb!, 'sb');
  await watcher.sock.next('peer_joined');
  const second = await registeredPeer(r.wsUrl, tokens.sb!, 'sb');
  assert.deepEqual(second.peers, ['sa']);
  const closed = await first.sock.closed;
  assert.equal(closed.code, 4001);
  await watcher.sock.next('peer_joined');
  // Relay goes to the new socket.
  watcher.sock.send({ type: 'offer', peer_id: 'sa', target_id: 'sb', payload: { sdp: 'to-new' } });
  assert.equal((await second.sock.next('offer')).payload.sdp, 'to-new');
  assert.ok(!watcher.sock.frames.some((f) => f.type === 'peer_left'), 'no peer_left for a replaced socket');
  second.sock.close();
  assert.equal((await watcher.sock.next('peer_left')).payload.peer_id, 'sb');
  watcher.sock.close();
  await watcher.sock.closed;
});

test('a plain GET on /ws answers 426 JSON, and the ?token= never reaches the log', async () => {
  const res = await fetch(`${r.url}/ws?token=${tokens.sa}`);
  assert.equal(res.status, 426);
  const s = await TestSocket.open(r.wsUrl, { token: tokens.sa!, query: true });
  s.send({ type: 'register', peer_id: 'sa', payload: {} });
  await s.next('peer_list');
  s.close();
  await s.closed;
  await waitFor('log line', () => r.output().includes('peer left: sa'));
  assert.ok(!r.output().includes(tokens.sa!), 'token appears in the registry output');
});

test('the registry survives a storm of garbage connections', async () => {
  const socks = await Promise.all(Array.from({ length: 20 }, () => TestSocket.open(r.wsUrl)));
  for (const s of socks) {
    s.ws.send('garbage');
    s.ws.send(Buffer.alloc(10));
    s.ws.terminate();
  }
  const raw = new WebSocket(r.wsUrl, ['chatixia-jwt', 'not-a-jwt']);
  raw.on('error', () => undefined);
  await new Promise((res) => raw.once('close', res));
  const h = await fetch(`${r.url}/healthz`);
  assert.equal(h.status, 200);
});

test('a burst of joins, relays and leaves keeps each socket in order: joined before the relay and before left', async () => {
  const watcher = await registeredPeer(r.wsUrl, tokens.sa!, 'sa');
  const seen: { type: string; from: string }[] = [];
  watcher.sock.ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as { type: string; peer_id: string; payload: { peer_id?: string } };
    seen.push({ type: f.type, from: f.type.startsWith('peer_') ? f.payload.peer_id! : f.peer_id });
  });
  const ids = ['sb', 'sc', 'sd', 'se'];
  // All four register at once, each sending its offer in the same breath (one TCP read, one registry
  // turn), so a relay that skipped the per-socket queue would overtake the queued peer_joined.
  const burst = await Promise.all(
    ids.map(async (id) => {
      const sock = await TestSocket.open(r.wsUrl, { token: tokens[id]! });
      sock.send({ type: 'register', peer_id: id, payload: {} });
      sock.send({ type: 'offer', peer_id: id, target_id: 'sa', payload: { sdp: `from-${id}` } });
      const peers = (await sock.next('peer_list')).payload.peers as string[];
      assert.deepEqual(peers, [...peers].sort(), 'peer_list is sorted');
      assert.ok(peers.includes('sa'));
      return { sock };
    }),
  );
  await waitFor('four offers', () => seen.filter((f) => f.type === 'offer').length === 4);
  for (const p of burst) p.sock.close();
  await waitFor('four peer_left', () => seen.filter((f) => f.type === 'peer_left').length === 4);
  for (const id of ids) {
    const at = (type: string) => seen.findIndex((f) => f.type === type && f.from === id);
    assert.ok(at('peer_joined') >= 0 && at('peer_joined') < at('offer'), `${id}: peer_joined before its offer`);
    assert.ok(at('offer') < at('peer_left'), `${id}: offer before peer_left`);
  }
  watcher.sock.close();
  await watcher.sock.closed;
});
