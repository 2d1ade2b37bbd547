import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startRelay, type Relay } from './test-support/relay.ts';
import { nodePeer, waitFor } from './test-support/node-peer.ts';
import type { MeshMessage } from './protocol/index.ts';

let relay: Relay;
const peers: ReturnType<typeof nodePeer>[] = [];
function peer(id: string, opts = {}) {
  const p = nodePeer(relay.url, id, opts);
  peers.push(p);
  p.start();
  return p;
}

before(async () => {
  relay = await startRelay();
});
after(async () => {
  for (const p of peers) p.stop();
  await relay.close();
});

test('two node peers link up; send, request/response, core ping and skill_query work', async () => {
  const a = peer('t1-a', { skills: () => [{ name: 'summarize' }] });
  const b = peer('t1-b');
  await waitFor(() => a.mesh.isConnected('t1-b') && b.mesh.isConnected('t1-a'), 'link a<->b');

  const got: MeshMessage[] = [];
  a.mesh.on('hello', (m) => got.push(m));
  await b.mesh.send('t1-a', { type: 'hello', payload: { n: 1 } });
  await waitFor(() => got.length === 1, 'hello');
  assert.deepEqual(got[0]!.payload, { n: 1 });

  a.mesh.on('task_request', (m, from) => {
    void a.mesh.send(from, { type: 'task_response', request_id: m.request_id, payload: { result: 'done' } });
  });
  const r = await b.mesh.request('t1-a', { type: 'task_request', payload: { skill: 'x', args: {} } });
  assert.equal(r.type, 'task_response');
  assert.deepEqual(r.payload, { result: 'done' });

  const pong = await b.mesh.request('t1-a', { type: 'ping', payload: {} });
  assert.equal(pong.type, 'pong');
  const sk = await b.mesh.request('t1-a', { type: 'skill_query', payload: { skill: 'summarize' } });
  assert.equal((sk.payload as { available: boolean }).available, true);

  const stats = await a.mesh.linkStats();
  const s = stats.find((x) => x.peer_id === 't1-b')!;
  assert.equal(s.state, 'open');
  assert.equal(s.path, 'host');
  assert.equal(s.extended, true);
});

test('request times out and can be aborted', async () => {
  const a = peers[0]!;
  await assert.rejects(a.mesh.request('t1-b', { type: 'nobody_answers' }, { timeoutMs: 200 }), /within 200 ms/);
  const ac = new AbortController();
  const p = a.mesh.request('t1-b', { type: 'nobody_answers' }, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, /aborted/);
});

test('a 4 MiB message is chunked and arrives intact; above the limit is a clear error', async () => {
  const a = peers[0]!;
  const b = peers[1]!;
  const big = Array.from({ length: (4 * 1024 * 1024) / 16 }, (_, i) => i.toString(16).padStart(15, '0') + 'é').join('');
  let got: string | undefined;
  b.mesh.on('bulk', (m) => (got = (m.payload as { data: string }).data));
  await a.mesh.send('t1-b', { type: 'bulk', payload: { data: big } });
  await waitFor(() => got !== undefined, 'bulk message', 30_000);
  assert.equal(got!.length, big.length);
  assert.ok(got === big, 'content differs');
  await assert.rejects(a.mesh.send('t1-b', { type: 'bulk', payload: { data: 'x'.repeat(65 * 1024 * 1024) } }), /exceeds the limit/);
});

test('a receiver with a smaller limit refuses, tells the sender, and the link stays up', async () => {
  const a = peer('t3-a');
  const b = peer('t3-b', { maxMessageBytes: 1024 * 1024 });
  await waitFor(() => a.mesh.isConnected('t3-b') && b.mesh.isConnected('t3-a'), 'link');
  const refused: string[] = [];
  b.mesh.events.on('invalid_message', (_p, e) => refused.push(e.code));
  const errors: MeshMessage[] = [];
  a.mesh.on('error', (m) => errors.push(m));
  await a.mesh.send('t3-b', { type: 'bulk', payload: { data: 'y'.repeat(2 * 1024 * 1024) } });
  await waitFor(() => refused.length === 1 && errors.length === 1, 'refusal');
  assert.equal(refused[0], 'too_large');
  // Garbage text frame: refused, answered, link up.
  await a.mesh.link('t3-b')!.send('{not json');
  await waitFor(() => refused.length === 2, 'bad json refusal');
  assert.equal(refused[1], 'bad_json');
  const pong = await a.mesh.request('t3-b', { type: 'ping' });
  assert.equal(pong.type, 'pong');
});

test('simultaneous dialing yields exactly one connection', async () => {
  for (let round = 0; round < 3; round++) {
    const a = peer(`t4-a${round}`, { autoConnect: false });
    const b = peer(`t4-b${round}`, { autoConnect: false });
    await waitFor(() => a.signaling.connected && b.signaling.connected, 'both registered');
    const opens: string[] = [];
    a.mesh.events.on('peer_connected', (p) => opens.push(`a>${p}`));
    b.mesh.events.on('peer_connected', (p) => opens.push(`b>${p}`));
    await Promise.all([a.mesh.connect(b.signaling.peerId), b.mesh.connect(a.signaling.peerId)]);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(opens.sort(), [`a>t4-b${round}`, `b>t4-a${round}`]);
    assert.equal(a.mesh.link(b.signaling.peerId)!.connectionId, b.mesh.link(a.signaling.peerId)!.connectionId);
    a.stop();
    b.stop();
  }
});

test('links survive the signaling server going away and coming back (no re-offer)', async () => {
  const a = peer('t5-a');
  const b = peer('t5-b');
  await waitFor(() => a.mesh.isConnected('t5-b') && b.mesh.isConnected('t5-a'), 'link');
  const conn = a.mesh.link('t5-b')!.connectionId;
  let received = 0;
  b.mesh.on('tick', () => received++);
  let sent = 0;
  let sendErrors = 0;
  const timer = setInterval(() => {
    a.mesh.send('t5-b', { type: 'tick', payload: { n: sent++ } }).catch(() => sendErrors++);
  }, 10);
  relay.setDown(true);
  try {
    await waitFor(() => !a.signaling.connected && !b.signaling.connected, 'signaling down');
    const [recv0, sent0] = [received, sent];
    await new Promise((r) => setTimeout(r, 700));
    const [recvN, sentN] = [received - recv0, sent - sent0];
    assert.ok(sentN > 0 && recvN >= Math.min(5, sentN) && recvN >= sentN / 2, `messages kept flowing while signaling was down (${recvN} of ${sentN})`);
  } finally {
    relay.setDown(false);
  }
  await waitFor(() => a.signaling.connected && b.signaling.connected, 'signaling back', 20_000);
  clearInterval(timer);
  await waitFor(() => received === sent, 'all ticks delivered');
  assert.equal(sendErrors, 0);
  assert.equal(a.mesh.link('t5-b')!.connectionId, conn, 'the link was not replaced');
  assert.ok(a.mesh.isConnected('t5-b'));
});

test('a peer that goes away is reported disconnected; when it returns the link comes back', async () => {
  const a = peer('t6-a', { deadAfterMs: 3000, keepaliveMs: 500 });
  let b = peer('t6-b');
  await waitFor(() => a.mesh.isConnected('t6-b'), 'link');
  const downs: string[] = [];
  a.mesh.events.on('peer_disconnected', (p) => downs.push(p));
  b.stop();
  await waitFor(() => downs.includes('t6-b'), 'peer_disconnected');
  b = peer('t6-b');
  await waitFor(() => a.mesh.isConnected('t6-b') && b.mesh.isConnected('t6-a'), 'relinked');
});

test('with linkAuth, a link opens only after both proofs pass; a bad proof is refused at both ends', async () => {
  const auth = (me: string, honest = true) => ({
    proofFrame: async () => JSON.stringify({ type: 'identity_proof', peer: honest ? me : 'someone-else' }),
    check: async (remote: string, _pc: RTCPeerConnection, text: string) => {
      const f = JSON.parse(text) as { peer?: string };
      return f.peer === remote ? { ok: true as const } : { ok: false as const, reason: 'bad_proof', message: `proof names ${f.peer}` };
    },
    refusal: (c: { reason: string; message: string }) => JSON.stringify({ type: 'identity_refused', ...c }),
  });
  const a = peer('t7-a', { linkAuth: auth('t7-a'), autoConnect: false });
  const b = peer('t7-b', { linkAuth: auth('t7-b'), autoConnect: false });
  const m = peer('t7-m', { linkAuth: auth('t7-m', false), autoConnect: false });
  await waitFor(() => a.signaling.connected && b.signaling.connected && m.signaling.connected, 'registered');
  const got: string[] = [];
  b.mesh.on('after_auth', () => got.push('x'));
  await a.mesh.connect('t7-b');
  await a.mesh.send('t7-b', { type: 'after_auth' });
  await waitFor(() => got.length === 1, 'message after auth');

  const refusedAtA: string[] = [];
  const refusedAtM: string[] = [];
  const connectedAtA: string[] = [];
  a.mesh.events.on('link_refused', (p, reason) => refusedAtA.push(`${p}:${reason}`));
  a.mesh.events.on('peer_connected', (p) => connectedAtA.push(p));
  m.mesh.events.on('link_refused', (p, reason) => refusedAtM.push(`${p}:${reason}`));
  const connectedAtM: string[] = [];
  m.mesh.events.on('peer_connected', (p) => connectedAtM.push(p));
  void m.mesh.connect('t7-a', 5000).catch(() => {});
  await waitFor(() => refusedAtA.length > 0 && refusedAtM.length > 0, 'refusal at both ends');
  assert.equal(refusedAtA[0], 't7-m:bad_proof');
  assert.equal(refusedAtM[0], 't7-a:bad_proof');
  assert.deepEqual(connectedAtA, []);
  assert.deepEqual(connectedAtM, [], 'the refused side never saw the link open either');
  await waitFor(() => !a.mesh.link('t7-m')?.active, 'link to m closed');
  assert.equal(a.mesh.isConnected('t7-m'), false);
});
