/**
 * Two registry instances on one PostgreSQL and one Redis (both real servers): a peer on each,
 * signaling across instances, shared state, live events and revocation across instances, the
 * streamed pieces of a task for a caller on the other instance.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, registeredPeer, TestEventStream, TestSocket, waitFor } from './test-support.ts';
import { isRevokedBody, isRevokedClose } from '../mesh/protocol/index.ts';
import { withUser } from './storage/db.ts';
import { RegistryClient } from '../mesh/registry-client.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startSidecarProcess } from '../sidecar-node/test-support.ts';
import { countSkill } from '../mesh/test-support/count-skill.ts';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
const env = {
  DATABASE_URL: PG_URL,
  DATABASE_SCHEMA: `chatixia_cl_${tag}`,
  REDIS_URL,
  REDIS_PREFIX: `chatixia-test-${tag}`,
  ADMIN_API_KEY: `cluster-admin-key-${tag}`,
};
let one: RegistryProcess;
let two: RegistryProcess;

before(async () => {
  one = await startRegistry({ env });
  two = await startRegistry({ env });
});
after(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
  const c = new pg.Client({ connectionString: withUser(PG_URL) });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${env.DATABASE_SCHEMA} CASCADE`);
  await c.end();
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${env.REDIS_PREFIX}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

test('a token from one instance works on the other; state is shared', async () => {
  const key = await one.issueApiKey('cl-a');
  const tok = await one.token(key);
  assert.equal((await api(two.url, 'GET', '/api/registry/agents', { token: tok })).status, 200);
  const a = new RegistryClient({ baseUrl: one.url, apiKey: key });
  const { task_id } = await a.submitTask({ skill: 'shared', payload: {}, ttl: 60 });
  const b = new RegistryClient({ baseUrl: two.url, apiKey: key });
  assert.equal((await b.getTask(task_id)).state, 'pending');
  assert.deepEqual((await a.config()).registry_ca, (await b.config()).registry_ca, 'one CA for all instances');
});

test('signaling across instances: peer_list, peer_joined, relay, forged peer_id refused, peer_left', async () => {
  const tokA = await one.token(await one.issueApiKey('x-a'));
  const tokB = await two.token(await two.issueApiKey('x-b'));
  const a = await registeredPeer(one.wsUrl, tokA, 'x-a');
  const b = await registeredPeer(two.wsUrl, tokB, 'x-b');
  assert.ok(b.peers.includes('x-a'), `peer_list on instance two: ${b.peers}`);
  const topo = await new RegistryClient({ baseUrl: two.url, token: tokB }).topology();
  assert.ok(topo.signaling_peers.includes('x-a') && topo.signaling_peers.includes('x-b'), 'topology lists peers of every instance');
  assert.equal((await a.sock.next('peer_joined', 10_000, (f) => f.payload.peer_id === 'x-b')).payload.peer_id, 'x-b');
  a.sock.send({ type: 'offer', peer_id: 'x-a', target_id: 'x-b', payload: { sdp: 'cross' } });
  assert.equal((await b.sock.next('offer')).payload.sdp, 'cross');
  b.sock.send({ type: 'answer', peer_id: 'x-b', target_id: 'x-a', payload: { sdp: 'back' } });
  assert.equal((await a.sock.next('answer')).payload.sdp, 'back');
  b.sock.send({ type: 'offer', peer_id: 'x-a', target_id: 'x-a', payload: { sdp: 'forged' } });
  assert.equal((await b.sock.next('error')).payload.code, 'forbidden');
  // Same peer id on the other instance replaces the first socket (4001).
  const b2 = await registeredPeer(one.wsUrl, tokB, 'x-b');
  assert.equal((await b.sock.closed).code, 4001);
  a.sock.send({ type: 'offer', peer_id: 'x-a', target_id: 'x-b', payload: { sdp: 'to-new' } });
  assert.equal((await b2.sock.next('offer')).payload.sdp, 'to-new');
  b2.sock.close();
  assert.equal((await a.sock.next('peer_left', 10_000, (f) => f.payload.peer_id === 'x-b')).payload.peer_id, 'x-b');
  a.sock.close();
  await a.sock.closed;
});

test('live events and revocation reach the other instance', async () => {
  const adminOne = new RegistryClient({ baseUrl: one.url, apiKey: env.ADMIN_API_KEY });
  const adminTwo = new RegistryClient({ baseUrl: two.url, apiKey: env.ADMIN_API_KEY });
  const events: { type: string; data: unknown }[] = [];
  const ctl = new AbortController();
  const done = adminTwo.events((e) => events.push(e), ctl.signal);
  await waitFor('snapshot', () => events.length >= 2);
  const { task_id } = await adminOne.submitTask({ skill: 'evt-x', payload: {}, ttl: 60 });
  await waitFor('task event on instance two', () => events.some((e) => e.type === 'tasks' && (e.data as { id: string }).id === task_id));
  // Pair on one, connect on two, revoke on one: the socket on two closes with 4003.
  const { code } = await adminOne.generatePairingCode();
  const dev = await new RegistryClient({ baseUrl: one.url }).pair({ code, agent_name: 'cross' });
  await adminOne.approvePairing(dev.id);
  const { device_token } = await new RegistryClient({ baseUrl: two.url }).pairingStatus(dev.id, dev.claim_secret);
  const devTok = await new RegistryClient({ baseUrl: two.url, deviceToken: device_token! }).token();
  const watcherTok = await one.token(await one.issueApiKey('watch-1'));
  const watcher = await registeredPeer(one.wsUrl, watcherTok, 'watch-1');
  const d = await registeredPeer(two.wsUrl, devTok, dev.peer_id);
  await adminOne.revokePairing(dev.id);
  assert.equal((await d.sock.closed).code, 4003);
  assert.equal((await watcher.sock.next('peer_revoked')).payload.peer_id, dev.peer_id);
  assert.equal((await api(two.url, 'GET', '/api/registry/agents', { token: devTok })).status, 401);
  watcher.sock.close();
  ctl.abort();
  await done;
});

test("revocation on one instance ends the peer's sockets and event streams on both within 5 s (key delete and device revoke)", async () => {
  const adminOne = new RegistryClient({ baseUrl: one.url, apiKey: env.ADMIN_API_KEY });
  const adminTwo = new RegistryClient({ baseUrl: two.url, apiKey: env.ADMIN_API_KEY });
  /** /ws registered on two, an authenticated /ws on one, an event stream on each: all must end. */
  const sessions = async (token: string, peer: string) => {
    const reg2 = await registeredPeer(two.wsUrl, token, peer);
    const ws1 = await TestSocket.open(one.wsUrl, { token });
    const ev1 = await TestEventStream.open(one.url, token);
    const ev2 = await TestEventStream.open(two.url, token);
    await waitFor('snapshots', () => ev1.events().length >= 2 && ev2.events().length >= 2);
    return { socks: [reg2.sock, ws1], streams: [ev1, ev2] };
  };
  const allEnd = async (s: Awaited<ReturnType<typeof sessions>>, t0: number, what: string) => {
    for (const sock of s.socks) {
      const c = await sock.closed;
      assert.ok(isRevokedClose(c.code, c.reason), `${what}: close ${c.code} ${c.reason}`);
      assert.equal(sock.frames.find((f) => f.type === 'error')?.payload.code, 'revoked');
    }
    for (const ev of s.streams) {
      await ev.ended;
      assert.equal(ev.blocks.at(-1)?.event, 'revoked', what);
    }
    const ms = Date.now() - t0;
    console.log(`# ${what}: sockets and streams on both instances ended ${ms} ms after the revocation`);
    assert.ok(ms < 5000, `${what}: ${ms} ms`);
  };
  // Key deleted on instance one.
  const key = await one.issueApiKey('cl-rev');
  const tok = await one.token(key);
  const a = await sessions(tok, 'cl-rev');
  const t0 = Date.now();
  assert.equal((await api(one.url, 'DELETE', '/api/keys/cl-rev', { apiKey: env.ADMIN_API_KEY })).status, 200);
  await allEnd(a, t0, 'key deleted');
  const rest = await api(two.url, 'GET', '/api/registry/agents', { token: tok });
  assert.equal(rest.status, 401);
  assert.ok(isRevokedBody(rest.body), JSON.stringify(rest.body));
  // Device revoked on instance two.
  const { code } = await adminOne.generatePairingCode();
  const dev = await new RegistryClient({ baseUrl: one.url }).pair({ code, agent_name: 'cluster device' });
  await adminOne.approvePairing(dev.id);
  const { device_token } = await new RegistryClient({ baseUrl: one.url }).pairingStatus(dev.id, dev.claim_secret);
  const devTok = await new RegistryClient({ baseUrl: one.url, deviceToken: device_token! }).token();
  const d = await sessions(devTok, dev.peer_id);
  const t1 = Date.now();
  await adminTwo.revokePairing(dev.id);
  await allEnd(d, t1, 'device revoked');
  assert.ok(isRevokedBody((await api(one.url, 'GET', '/api/registry/agents', { token: devTok })).body));
});

test('a task streamed by an agent on instance one reaches an MCP caller on instance two piece by piece, in order', async (t) => {
  // The sidecar posts its pieces and the result to instance one; the official MCP client calls through two.
  const sidecar = await startSidecarProcess(one, 'cl-tools');
  t.after(() => sidecar.stop());
  const agent = await sidecar.agent({
    name: 'counter',
    registerTimeoutMs: 30_000,
    skills: { count_cl: countSkill() },
  });
  t.after(() => agent.close());
  const mcp = new Client({ name: 'cluster-test', version: '1.0.0' });
  const token = await two.token(await two.issueApiKey('cl-mcp'));
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${two.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  t.after(() => mcp.close());
  await waitFor('count_cl among the tools on instance two', async () => (await mcp.listTools()).tools.some((x) => x.name === 'count_cl'));
  const pieces: string[] = [];
  const r = (await mcp.callTool({ name: 'count_cl', arguments: { n: 5 } }, undefined, { onprogress: (p) => pieces.push(p.message ?? '') })) as CallToolResult;
  assert.deepEqual(r.content[0], { type: 'text', text: 'done' });
  assert.equal(r._meta?.['chatixia/tier'], 'task_queue', 'it ran as a queued task');
  assert.deepEqual(pieces, ['1 ', '2 ', '3 ', '4 ', '5 ']);
});
