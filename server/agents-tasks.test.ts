import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, waitFor } from './test-support.ts';
import { RegistryClient } from '../mesh/registry-client.ts';
import { UPPER_SPEC } from '../mesh/test-support/upper-skill.ts';

let r: RegistryProcess;
let admin: string;
let keyA: string;
let keyB: string;

before(async () => {
  // Short timers: stale after 1.5 s, offline after 3 s, tasks expire after 2 s by default.
  r = await startRegistry({ env: { HEALTH_STALE_S: '1.5', HEALTH_OFFLINE_S: '3', TASK_TTL_S: '2' } });
  admin = await r.token(r.adminKey);
  keyA = await r.issueApiKey('peer-a');
  keyB = await r.issueApiKey('peer-b');
});
after(async () => r?.stop());

test('register, list, get; update by the owner; delete by self or admin only', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const b = new RegistryClient({ baseUrl: r.url, apiKey: keyB });
  const rec = await a.registerAgent({ agent_id: 'reg-1', capabilities: { skills: ['sum'] } });
  assert.equal(rec.peer_id, 'peer-a');
  assert.equal(rec.sidecar_peer_id, 'peer-a');
  assert.equal(rec.health, 'active');
  assert.equal(rec.port, 8000, 'Rust default port');
  assert.ok((await b.listAgents()).some((x) => x.agent_id === 'reg-1'));
  assert.deepEqual((await b.getAgent('reg-1')).capabilities.skills, ['sum']);
  // Another peer may neither overwrite nor delete it.
  await assert.rejects(b.registerAgent({ agent_id: 'reg-1' }), (e: { status: number }) => e.status === 403);
  await assert.rejects(b.deleteAgent('reg-1'), (e: { status: number }) => e.status === 403);
  await a.registerAgent({ agent_id: 'reg-1', capabilities: { skills: ['sum', 'mul'] } });
  assert.deepEqual((await a.getAgent('reg-1')).capabilities.skills, ['sum', 'mul']);
  // An agent key cannot place an agent (or report links) on another peer.
  await assert.rejects(a.registerAgent({ agent_id: 'reg-x', peer_id: 'peer-b' }), (e: { status: number }) => e.status === 403);
  await assert.rejects(
    a.heartbeat({ agent_id: 'reg-x', sidecar_peer_id: 'peer-b', links: [{ peer_id: 'peer-z', path: 'host' }] }),
    (e: { status: number }) => e.status === 403,
  );
  assert.equal((await a.registerAgent({ agent_id: 'reg-x', sidecar_peer_id: 'peer-a' })).peer_id, 'peer-a');
  await a.deleteAgent('reg-1');
  await assert.rejects(a.getAgent('reg-1'), (e: { status: number; code: string }) => e.status === 404 && e.code === 'not_found');
  await a.registerAgent({ agent_id: 'reg-2' });
  assert.equal((await api(r.url, 'DELETE', '/api/registry/agents/reg-2', { token: admin })).status, 200);
  assert.equal((await api(r.url, 'DELETE', '/api/registry/agents/reg-2', { token: admin })).status, 404);
});

test('skill specs: the record keeps a description and args schema per skill beside capabilities.skills', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  await a.registerAgent({ agent_id: 'spec-1', capabilities: { skills: ['upper', 'plain'], skill_specs: [UPPER_SPEC] } });
  const rec = (await a.listAgents()).find((x) => x.agent_id === 'spec-1')!;
  assert.deepEqual(rec.capabilities.skills, ['upper', 'plain'], 'the Rust/Python list is unchanged');
  assert.deepEqual(rec.capabilities.skill_specs, [UPPER_SPEC]);
  // A spec for a skill the agent does not list, or a schema that is not an object schema: 400 with the path.
  for (const [specs, why] of [
    [[{ name: 'ghost' }], /skill_specs\.0\.name.*not in capabilities\.skills/],
    [[{ ...UPPER_SPEC, args_schema: { type: 'array' } }], /args_schema\.type.*object/],
  ] as const) {
    const res = await api(r.url, 'POST', '/api/registry/agents', {
      token: admin,
      body: { agent_id: 'spec-2', capabilities: { skills: ['upper'], skill_specs: specs } },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid');
    assert.match(res.body.error.message, why);
  }
  await a.deleteAgent('spec-1');
});

test('bad input: malformed JSON, wrong types, oversize body, bad ids — all {"error":{code,message}}', async () => {
  const cases: [string, string, { rawBody?: string; body?: unknown }, number, string][] = [
    ['POST', '/api/registry/agents', { rawBody: '{nope' }, 400, 'bad_json'],
    ['POST', '/api/registry/agents', { body: { agent_id: 5 } }, 400, 'invalid'],
    ['POST', '/api/registry/agents', { body: { agent_id: 'ok', capabilities: { skills: 'notalist' } } }, 400, 'invalid'],
    ['POST', '/api/registry/agents', { body: { agent_id: '<img src=x>' } }, 400, 'invalid'],
    ['POST', '/api/registry/agents', { body: [] }, 400, 'invalid'],
    ['POST', '/api/hub/heartbeat', { body: { agent_id: 'a', links: [{ peer_id: 'x', path: 'warp' }] } }, 400, 'invalid'],
    ['POST', '/api/hub/tasks', { body: { payload: {} } }, 400, 'invalid'],
    ['POST', '/api/hub/tasks', { body: { skill: 'x', ttl: -1 } }, 400, 'invalid'],
    ['POST', '/api/registry/agents', { rawBody: JSON.stringify({ agent_id: 'big', description: 'x'.repeat(2 * 1024 * 1024) }) }, 413, 'too_large'],
    ['GET', '/api/registry/route', {}, 400, 'invalid'],
    ['GET', '/api/nothing-here', {}, 404, 'not_found'],
  ];
  for (const [method, path, opts, status, code] of cases) {
    const res = await api(r.url, method, path, { token: admin, ...opts });
    assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(opts).slice(0, 60)}`);
    assert.equal(res.body.error.code, code, `${method} ${path}`);
    assert.equal(typeof res.body.error.message, 'string');
    assert.ok(!/at .*\.ts:\d+/.test(res.body.error.message), 'no stack traces');
  }
  assert.equal((await api(r.url, 'GET', '/healthz')).status, 200);
});

test('route by skill: only active agents, round robin among them, 404 when none', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const b = new RegistryClient({ baseUrl: r.url, apiKey: keyB });
  await a.heartbeat({ agent_id: 'rr-a', skill_names: ['translate'] });
  await b.heartbeat({ agent_id: 'rr-b', skill_names: ['translate', 'ocr'] });
  const picks = new Set<string>();
  for (let i = 0; i < 4; i++) picks.add((await a.route('translate'))!.agent_id);
  assert.deepEqual([...picks].sort(), ['rr-a', 'rr-b']);
  assert.equal((await a.route('ocr'))!.agent_id, 'rr-b');
  assert.equal(await a.route('nobody-has-this'), null);
  // rr-b goes stale (no heartbeats), rr-a keeps beating: only rr-a is routed.
  await waitFor('rr-b stale', async () => (await a.getAgent('rr-b')).health === 'stale');
  await a.heartbeat({ agent_id: 'rr-a', skill_names: ['translate'] });
  for (let i = 0; i < 3; i++) assert.equal((await a.route('translate'))!.agent_id, 'rr-a');
  assert.equal(await a.route('ocr'), null);
});

test('health goes active → stale → offline and back to active on a heartbeat', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  await a.heartbeat({ agent_id: 'hb-1', skill_names: [] });
  assert.equal((await a.getAgent('hb-1')).health, 'active');
  await waitFor('stale', async () => (await a.getAgent('hb-1')).health === 'stale');
  await waitFor('offline', async () => (await a.getAgent('hb-1')).health === 'offline');
  await a.heartbeat({ agent_id: 'hb-1', skill_names: [] });
  assert.equal((await a.getAgent('hb-1')).health, 'active');
});

test('tasks: submit → heartbeat hands it over (assigned) → completed; terminal states are final', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const b = new RegistryClient({ baseUrl: r.url, apiKey: keyB });
  await b.heartbeat({ agent_id: 'worker-b', skill_names: ['resize'] });
  const { task_id } = await a.submitTask({ skill: 'resize', payload: { w: 10 }, ttl: 60, source_agent_id: 'caller-a' });
  const t0 = await a.getTask(task_id);
  assert.equal(t0.state, 'pending');
  assert.equal(t0.result, '');
  const hb = await b.heartbeat({ agent_id: 'worker-b', skill_names: ['resize'] });
  assert.equal(hb.pending_tasks.length, 1);
  assert.equal(hb.pending_tasks[0]!.id, task_id);
  assert.equal(hb.pending_tasks[0]!.state, 'assigned');
  assert.deepEqual(hb.pending_tasks[0]!.payload, { w: 10 });
  // The same task is never handed out twice.
  assert.equal((await b.heartbeat({ agent_id: 'worker-b', skill_names: ['resize'] })).pending_tasks.length, 0);
  // A third party cannot complete it, nor even learn that it exists.
  const c = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('peer-c') });
  await assert.rejects(c.updateTask(task_id, { state: 'completed', result: 'hijack' }), (e: { status: number }) => e.status === 404);
  const done = await b.updateTask(task_id, { state: 'completed', result: { area: 100 } });
  assert.equal(done.state, 'completed');
  assert.deepEqual((await a.getTask(task_id)).result, { area: 100 });
  await assert.rejects(b.updateTask(task_id, { state: 'failed', error: 'late' }), (e: { status: number }) => e.status === 409);
  await assert.rejects(b.updateTask(task_id, { state: 'exploded' as never }), (e: { status: number }) => e.status === 400);
  await assert.rejects(a.getTask('no-such-task'), (e: { status: number }) => e.status === 404);
  // Tasks addressed to an agent go to that agent only.
  const direct = await a.submitTask({ target_agent_id: 'worker-x', payload: {} });
  assert.equal((await b.heartbeat({ agent_id: 'worker-b', skill_names: ['resize'] })).pending_tasks.length, 0);
  const x = await b.heartbeat({ agent_id: 'worker-x', skill_names: [] });
  assert.deepEqual(
    x.pending_tasks.map((t) => t.id),
    [direct.task_id],
  );
  const all = await a.listTasks();
  assert.ok(all.some((t) => t.id === task_id));
  assert.ok((await a.listTasks({ state: 'completed' })).every((t) => t.state === 'completed'));
});

test('idempotency key: a retried submission answers the first task', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const one = await api(r.url, 'POST', '/api/hub/tasks', { apiKey: keyA, body: { skill: 'idem', idempotency_key: 'req-42', ttl: 60 } });
  const two = await api(r.url, 'POST', '/api/hub/tasks', { apiKey: keyA, body: { skill: 'idem', idempotency_key: 'req-42', ttl: 60 } });
  assert.equal(one.status, 201);
  assert.equal(two.status, 200);
  assert.equal(one.body.task_id, two.body.task_id);
  assert.equal((await a.listTasks()).filter((t) => t.skill === 'idem').length, 1);
});

test('TTL: an unclaimed task fails with "TTL expired" (TASK_TTL_S) and is never handed out', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const { task_id } = await a.submitTask({ skill: 'slow-skill', payload: {} });
  assert.equal((await a.getTask(task_id)).ttl, 2);
  const failed = await waitFor('expiry', async () => {
    const t = await a.getTask(task_id);
    return t.state === 'failed' ? t : undefined;
  });
  assert.equal(failed.error, 'TTL expired');
  assert.equal((await a.heartbeat({ agent_id: 'late-worker', skill_names: ['slow-skill'] })).pending_tasks.length, 0);
});

test('heartbeat links become topology edges with path and RTT; signaling peers are listed', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  await a.heartbeat({
    agent_id: 'topo-a',
    skill_names: ['x'],
    links: [
      { peer_id: 'peer-b', path: 'host', rtt_ms: 3.5 },
      { peer_id: 'peer-z', path: 'relay' },
    ],
  });
  const topo = await a.topology();
  const edge = topo.mesh_edges.find((e) => e.from_peer === 'peer-a' && e.to_peer === 'peer-b');
  assert.ok(edge);
  assert.equal(edge.path, 'host');
  assert.equal(edge.rtt_ms, 3.5);
  const node = topo.nodes.find((n) => n.agent_id === 'topo-a')!;
  assert.deepEqual(node.mesh_peers, ['peer-b', 'peer-z']);
  assert.ok(Array.isArray(topo.signaling_peers));
  // A new report replaces the old set.
  await a.heartbeat({ agent_id: 'topo-a', skill_names: ['x'], links: [] });
  assert.ok(!(await a.topology()).mesh_edges.some((e) => e.from_peer === 'peer-a'));
});

test('A2A: agent card and the registry well-known card', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  await a.registerAgent({ agent_id: 'card-agent', capabilities: { skills: ['summarize'] }, description: 'Summarizes text' });
  const card = await a.agentCard('card-agent');
  assert.equal(card.name, 'card-agent');
  assert.match(String(card.description), /^Summarizes text\. Plain text goes to its chat/);
  assert.deepEqual(card.supportedInterfaces, [{ url: `${r.url}/a2a/agents/card-agent/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }]);
  assert.deepEqual(
    (card.skills as { id: string }[]).map((s) => s.id),
    ['summarize'],
  );
  assert.ok(card.securitySchemes);
  assert.equal((await api(r.url, 'GET', '/api/registry/agents/card-agent/card')).status, 401);
  const pub = await api(r.url, 'GET', '/.well-known/agent.json');
  assert.equal(pub.status, 200);
  assert.equal(pub.body.name, 'chatixia-mesh registry');
  assert.deepEqual(pub.body.skills, [], 'no skill names without a token');
  const authed = await api(r.url, 'GET', '/.well-known/agent.json', { apiKey: keyA });
  assert.ok(authed.body.skills.some((s: { id: string }) => s.id === 'summarize'));
});

test('GET /api/config: STUN by default; TURN ephemeral credentials in the coturn REST scheme', async () => {
  const plain = await api(r.url, 'GET', '/api/config', { apiKey: keyA });
  assert.deepEqual(plain.body.iceServers, [{ urls: ['stun:stun.l.google.com:19302'] }]);
  assert.equal((await api(r.url, 'GET', '/api/config')).status, 401);
  const r2 = await startRegistry({
    env: {
      TURN_URL: 'turn:turn.example.org:3478?transport=udp',
      TURN_SECRET: 's3cret',
      STUN_URLS: 'stun:one:3478,stun:two:3478',
      ICE_TRANSPORT_POLICY: 'relay',
    },
  });
  try {
    const k = await r2.issueApiKey('turn-peer');
    const res = await api(r2.url, 'GET', '/api/config', { apiKey: k });
    assert.deepEqual(res.body.iceServers[0], { urls: ['stun:one:3478', 'stun:two:3478'] });
    const turn = res.body.iceServers[1];
    assert.deepEqual(turn.urls, ['turn:turn.example.org:3478?transport=udp']);
    const [expiry, peer] = turn.username.split(':');
    assert.equal(peer, 'turn-peer');
    // TURN_TTL_S, 1 h by default: coturn cannot revoke a credential, so it is kept short (docs/registry.md).
    assert.ok(Number(expiry) > Date.now() / 1000 + 3500 && Number(expiry) <= Date.now() / 1000 + 3601);
    const { createHmac } = await import('node:crypto');
    assert.equal(turn.credential, createHmac('sha1', 's3cret').update(turn.username).digest('base64'));
    assert.equal(res.body.iceTransportPolicy, 'relay');
  } finally {
    await r2.stop();
  }
});

test('GET /api/events streams agents, topology and task events; pairing/audit only to admins', async () => {
  const a = new RegistryClient({ baseUrl: r.url, apiKey: keyA });
  const events: { type: string; data: unknown }[] = [];
  const ctl = new AbortController();
  const done = a.events((e) => events.push(e), ctl.signal);
  await waitFor('snapshots', () => events.some((e) => e.type === 'agents') && events.some((e) => e.type === 'topology'));
  const { task_id } = await a.submitTask({ skill: 'evt', payload: {}, ttl: 60 });
  await waitFor('task event', () => events.some((e) => e.type === 'tasks' && (e.data as { id: string }).id === task_id));
  await a.registerAgent({ agent_id: 'evt-agent' });
  await waitFor('agents event', () => events.some((e) => e.type === 'agents' && (e.data as { agent_id: string }[]).some((x) => x.agent_id === 'evt-agent')));
  await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'evt-key' } });
  // The agent stream must not carry audit events; an admin stream does.
  const adminEvents: { type: string }[] = [];
  const ctl2 = new AbortController();
  const done2 = new RegistryClient({ baseUrl: r.url, token: admin }).events((e) => adminEvents.push(e), ctl2.signal);
  await waitFor('admin snapshot', () => adminEvents.length >= 2);
  await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'evt-key-2' } });
  await waitFor('audit event', () => adminEvents.some((e) => e.type === 'audit'));
  assert.ok(!events.some((e) => e.type === 'audit'));
  ctl.abort();
  ctl2.abort();
  await Promise.all([done, done2]);
  // ?token= works for EventSource; no token is 401.
  const url = await a.eventsUrl();
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  await res.body?.cancel();
  assert.equal((await fetch(`${r.url}/api/events`)).status, 401);
});
