/**
 * The revocation contract (mesh/protocol/revocation.ts, docs/trust.md) on a real registry process:
 * deleting a peer's API key or revoking its paired device ends its `/ws` (error frame `revoked`,
 * close 4003 "revoked…") and its event stream (`event: revoked`) within 5 s, answers its REST calls
 * 401 `{"error", "code": "revoked"}`, removes its agents and fails its unfinished tasks; the cut-off
 * survives a restart with a smaller TOKEN_TTL_S; sessions end when their token expires unless renewed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, registeredPeer, TestEventStream, TestSocket, waitFor } from './test-support.ts';
import WS from 'ws';
import { RegistryClient } from '../mesh/registry-client.ts';
import { SignalingClient } from '../mesh/signaling-client.ts';
import type { WebSocketCtor } from '../mesh/types.ts';
import { REVOKED_TASK_ERROR, RevokedNotice, isRevokedBody, isRevokedClose } from '../mesh/protocol/index.ts';

let r: RegistryProcess;
let adminTok: string;

before(async () => {
  r = await startRegistry({ env: { RATE_PAIRING_PER_MIN: '1000' } });
  adminTok = await r.token(r.adminKey);
});
after(async () => r?.stop());

interface Victim {
  peer: string;
  token: string;
  sock: TestSocket;
  events: TestEventStream;
  tasks: { targeted: string; held: string; submitted: string };
}

/** A peer with an open /ws, an open event stream, an agent, a task aimed at it, one it holds and one it submitted. */
async function victim(peer: string, token: string, requesterTok: string): Promise<Victim> {
  const { sock } = await registeredPeer(r.wsUrl, token, peer);
  const events = await TestEventStream.open(r.url, token);
  const agent = `worker@${peer}`;
  const skill = `skill-${peer}`;
  assert.equal((await api(r.url, 'POST', '/api/hub/heartbeat', { token, body: { agent_id: agent, skill_names: [] } })).status, 200);
  const submit = async (tok: string, body: object) =>
    (await api(r.url, 'POST', '/api/hub/tasks', { token: tok, body: { payload: { x: 1 }, ttl: 600, ...body } })).body.task_id as string;
  const targeted = await submit(requesterTok, { target_agent_id: agent });
  const held = await submit(requesterTok, { skill });
  const submitted = await submit(token, { skill: 'nobody-has-it' });
  // The heartbeat with the skill claims the skill task (and the targeted one).
  const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { token, body: { agent_id: agent, skill_names: [skill] } });
  assert.deepEqual(hb.body.pending_tasks.map((t: { id: string }) => t.id).sort(), [targeted, held].sort());
  const targeted2 = await submit(requesterTok, { target_agent_id: agent }); // still queued at the revocation
  await waitFor('snapshot events', () => events.events().length >= 2);
  return { peer, token, sock, events, tasks: { targeted: targeted2, held, submitted } };
}

async function assertCutOff(v: Victim, revokedAt: number, requesterTok: string, watcher: TestSocket): Promise<void> {
  const closed = await v.sock.closed;
  const wsMs = Date.now() - revokedAt;
  const frame = v.sock.frames.find((f) => f.type === 'error');
  assert.equal(frame?.payload.code, 'revoked', JSON.stringify(v.sock.frames));
  assert.ok(frame?.payload.message.length > 10, 'a readable message');
  assert.ok(isRevokedClose(closed.code, closed.reason), `close ${closed.code} "${closed.reason}"`);
  await v.events.ended;
  const sseMs = Date.now() - revokedAt;
  const last = v.events.blocks.at(-1)!;
  assert.equal(last.event, 'revoked', JSON.stringify(v.events.blocks.slice(-2)));
  assert.ok(RevokedNotice.safeParse(JSON.parse(last.data)).success, last.data);
  assert.ok(wsMs < 5000 && sseMs < 5000, `sessions ended after ${wsMs} ms (/ws) and ${sseMs} ms (SSE)`);
  console.log(`# ${v.peer}: /ws closed ${wsMs} ms, SSE ended ${sseMs} ms after the revocation`);
  // REST: 401 with the contract's body.
  const rest = await api(r.url, 'GET', '/api/registry/agents', { token: v.token });
  assert.equal(rest.status, 401);
  assert.ok(isRevokedBody(rest.body), JSON.stringify(rest.body));
  // A new /ws with the old token: refused the same way.
  const again = new TestSocket(new (await import('ws')).default(r.wsUrl, ['chatixia-jwt', v.token]));
  const c2 = await again.closed;
  assert.ok(isRevokedClose(c2.code, c2.reason), `reconnect: ${c2.code} ${c2.reason}`);
  // Its agent left the registry at once; its tasks failed with a readable error.
  const agents = await api(r.url, 'GET', '/api/registry/agents', { token: requesterTok });
  assert.ok(!agents.body.some((a: { peer_id: string }) => a.peer_id === v.peer), 'the revoked peer has no agent records');
  const topo = await api(r.url, 'GET', '/api/hub/network/topology', { token: adminTok });
  assert.ok(!topo.body.nodes.some((n: { peer_id: string }) => n.peer_id === v.peer), 'nor topology nodes');
  for (const id of Object.values(v.tasks)) {
    const t = await api(r.url, 'GET', `/api/hub/tasks/${id}`, { token: adminTok });
    assert.equal(t.body.state, 'failed', `task ${id}: ${JSON.stringify(t.body)}`);
    assert.ok(t.body.error.startsWith(REVOKED_TASK_ERROR), t.body.error);
  }
  assert.equal((await watcher.next('peer_revoked', 5000, (f) => f.payload.peer_id === v.peer)).payload.peer_id, v.peer);
}

test('DELETE /api/keys/…: /ws, SSE and REST of the peer end as the contract says; agents gone, tasks failed', async () => {
  const requesterTok = await r.token(await r.issueApiKey('rv-req'));
  const watcher = await registeredPeer(r.wsUrl, requesterTok, 'rv-req');
  const key = await r.issueApiKey('rv-key');
  const v = await victim('rv-key', await r.token(key), requesterTok);
  const t0 = Date.now();
  assert.equal((await api(r.url, 'DELETE', '/api/keys/rv-key', { token: adminTok })).status, 200);
  await assertCutOff(v, t0, requesterTok, watcher.sock);
  // The deleted API key itself answers "revoked", not "unknown key".
  const exchange = await api(r.url, 'POST', '/api/token', { apiKey: key });
  assert.equal(exchange.status, 401);
  assert.ok(isRevokedBody(exchange.body), JSON.stringify(exchange.body));
  watcher.sock.close();
});

test('revoking a paired device: the same contract, device token included', async () => {
  const requesterTok = await r.token(await r.issueApiKey('rd-req'));
  const watcher = await registeredPeer(r.wsUrl, requesterTok, 'rd-req');
  const admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
  const { code } = await admin.generatePairingCode();
  const dev = await new RegistryClient({ baseUrl: r.url }).pair({ code, agent_name: 'phone' });
  await admin.approvePairing(dev.id);
  const { device_token } = await new RegistryClient({ baseUrl: r.url }).pairingStatus(dev.id, dev.claim_secret);
  const tok = await new RegistryClient({ baseUrl: r.url, deviceToken: device_token! }).token();
  const v = await victim(dev.peer_id, tok, requesterTok);
  const t0 = Date.now();
  await admin.revokePairing(dev.id);
  await assertCutOff(v, t0, requesterTok, watcher.sock);
  const exchange = await api(r.url, 'POST', '/api/token', { headers: { 'X-Device-Token': device_token! } });
  assert.equal(exchange.status, 401);
  assert.ok(isRevokedBody(exchange.body), JSON.stringify(exchange.body));
  watcher.sock.close();
});

test('a cut-off survives a restart with a smaller TOKEN_TTL_S; sessions end at token expiry unless renewed', async () => {
  const key = await r.issueApiKey('rv-ttl');
  const oldTok = await r.token(key);
  assert.equal((await api(r.url, 'DELETE', '/api/keys/rv-ttl', { token: adminTok })).status, 200);
  // A smaller TOKEN_TTL_S used to drop the cut-off at start: the deleted key's 15-minute token worked again.
  await r.stop();
  const small = await startRegistry({ dataDir: r.dataDir, env: { TOKEN_TTL_S: '3', PORT: String(r.port) } });
  const rest = await api(small.url, 'GET', '/api/registry/agents', { token: oldTok });
  assert.equal(rest.status, 401, "the deleted key's token stays refused after the restart");
  assert.ok(isRevokedBody(rest.body), JSON.stringify(rest.body));

  // Token expiry: a socket that renews with an auth frame stays; one that does not is closed; SSE ends.
  const k2 = await small.issueApiKey('exp-a');
  const k3 = await small.issueApiKey('exp-b');
  const a = await registeredPeer(small.wsUrl, await small.token(k2), 'exp-a');
  const b = await registeredPeer(small.wsUrl, await small.token(k3), 'exp-b');
  const ev = await TestEventStream.open(small.url, await small.token(k3));
  // The mesh's own signaling client renews by itself (an auth frame at 80 % of the token's life).
  const k4 = await small.issueApiKey('exp-c');
  const client = new SignalingClient({ url: small.wsUrl, peerId: 'exp-c', WebSocket: WS as unknown as WebSocketCtor, getToken: () => small.token(k4) });
  const drops: number[] = [];
  client.on('disconnected', (d) => drops.push(d.code));
  client.start();
  await waitFor('client registered', () => client.connected);
  const t0 = Date.now();
  const renew = setInterval(() => void small.token(k2).then((t) => a.sock.send({ type: 'auth', payload: { token: t } })), 1500);
  try {
    const closed = await b.sock.closed;
    assert.equal(closed.code, 4003);
    assert.equal(closed.reason, 'token expired');
    assert.ok(Date.now() - t0 < 6000, `closed after ${Date.now() - t0} ms`);
    await ev.ended;
    await new Promise((res) => setTimeout(res, 3000));
    assert.equal(a.sock.closeInfo, undefined, 'the renewed socket stays open past its first token');
    assert.deepEqual(drops, [], 'the signaling client renewed its session instead of being closed');
    assert.ok(client.connected);
  } finally {
    clearInterval(renew);
    a.sock.close();
    client.stop();
  }
  await small.stop();
  await r.restart(); // for after()
});
