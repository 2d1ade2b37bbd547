/**
 * Control plane down, data plane up; and the task-queue tier. Real registry, real sidecars.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../server/testing.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from './test-support.ts';
import type { AgentClient } from '../mesh/agent/client.ts';

let reg: RegistryProcess;
let a: SidecarProcess, b: SidecarProcess, c: SidecarProcess, d: SidecarProcess;
let alpha: AgentClient, beta: AgentClient, gamma: AgentClient, delta: AgentClient;

before(async () => {
  const t0 = Date.now();
  reg = await startRegistry();
  console.log(`# registry up in ${Date.now() - t0} ms`);
  [a, b, c, d] = await Promise.all([
    startSidecarProcess(reg, 'rs-a'),
    startSidecarProcess(reg, 'rs-b'),
    // Relay-only without any TURN server on both ends: rs-c and rs-d have no ICE candidates at
    // all, so they can never open a DataChannel to each other.
    startSidecarProcess(reg, 'rs-c', { env: { ICE_TRANSPORT_POLICY: 'relay' } }),
    // rs-d heartbeats only once a minute: it must learn of queued tasks from the event stream.
    startSidecarProcess(reg, 'rs-d', { env: { ICE_TRANSPORT_POLICY: 'relay', HEARTBEAT_MS: '60000' } }),
  ]);
  gamma = await c.agent({ name: 'gamma' });
  alpha = await a.agent({ name: 'alpha' });
  beta = await b.agent({ name: 'beta', skills: { shout: (x: { text: string }) => `${x.text.toUpperCase()}!` } });
  delta = await d.agent({ name: 'delta', skills: { only_here: (x: { n: number }) => x.n * 2 } });
  console.log(`# sidecars and agents up after ${Date.now() - t0} ms`);
  await waitFor(async () => (await alpha.listPeers()).includes('rs-b'), 'a-b link');
  console.log(`# a-b link after ${Date.now() - t0} ms`);
});

after(async () => {
  for (const cl of [alpha, beta, gamma, delta]) cl?.close();
  await Promise.all([a, b, c, d].map((s) => s?.stop()));
  await reg?.stop();
});

test('delegate falls back to the registry task queue when the target has no link', async () => {
  assert.equal((await gamma.listPeers()).includes('rs-d'), false, 'rs-c has no link to rs-d');
  await waitFor(async () => {
    const r = await fetch(`${reg.url}/api/registry/route?skill=only_here`, { headers: { Authorization: `Bearer ${await reg.token(reg.adminKey)}` } });
    return r.ok;
  }, 'only_here registered');
  const t0 = Date.now();
  const out = (await gamma.task('delegate', { skill: 'only_here', args: { n: 21 }, timeout_ms: 30_000 }, { timeoutMs: 35_000 })) as {
    tier: string;
    peer_id: string;
    task_id: string;
    result: unknown;
  };
  assert.equal(out.tier, 'task_queue');
  assert.equal(out.peer_id, 'rs-d');
  assert.equal(out.result, 42);
  assert.ok(out.task_id);
  assert.equal((await gamma.listPeers()).includes('rs-d'), false, 'still no link');
  const took = Date.now() - t0;
  assert.ok(took < 15_000, `the task waited ${took} ms: it was not picked up from the event stream`);
  console.log(`# delegate over the task queue took ${took} ms (target heartbeats every 60 s; woken by the event stream)`);
});

test('restarting the registry does not interrupt a stream of messages between two sidecars', async () => {
  const arrivals: { n: number; at: number }[] = [];
  let disconnects = 0;
  beta.on('message', (m) => {
    if (m.type === 'seq') arrivals.push({ n: (m.payload as { n: number }).n, at: Date.now() });
  });
  alpha.on('peer_disconnected', () => disconnects++);
  beta.on('peer_disconnected', () => disconnects++);
  const sendErrors: unknown[] = [];
  alpha.on('error', (e) => sendErrors.push(e));
  let sent = 0;
  const timer = setInterval(() => alpha.send('rs-b', { type: 'seq', payload: { n: sent++ } }), 5);
  await waitFor(() => arrivals.length > 100, 'stream running');
  const restartStart = Date.now();
  await reg.restart();
  const restartEnd = Date.now();
  // Sidecars come back to the registry by themselves (signaling + heartbeats) ...
  const admin = await reg.token(reg.adminKey);
  await waitFor(
    async () => {
      const topo = (await (await fetch(`${reg.url}/api/hub/network/topology`, { headers: { Authorization: `Bearer ${admin}` } })).json()) as {
        signaling_peers: string[];
      };
      return topo.signaling_peers.includes('rs-a') && topo.signaling_peers.includes('rs-b');
    },
    'sidecars re-registered',
    30_000,
  );
  await new Promise((r) => setTimeout(r, 300));
  clearInterval(timer);
  await waitFor(() => arrivals.length === sent, `all ${sent} messages delivered (got ${arrivals.length})`);
  // ... none lost, none reordered, and the rate held while the registry was away.
  assert.deepEqual(
    arrivals.map((x) => x.n),
    Array.from({ length: sent }, (_, i) => i),
  );
  const during = arrivals.filter((x) => x.at >= restartStart && x.at <= restartEnd).length;
  const expected = (restartEnd - restartStart) / 5;
  assert.ok(during >= expected * 0.3, `only ${during} of ~${Math.round(expected)} messages arrived during the ${restartEnd - restartStart} ms restart`);
  assert.equal(disconnects, 0, 'no link went down');
  assert.deepEqual(sendErrors, []);
  console.log(`# registry restart took ${restartEnd - restartStart} ms; ${during} messages arrived meanwhile; ${sent} sent, ${arrivals.length} delivered`);
});

test('with the registry down, delegate by skill still runs over an open DataChannel', async () => {
  await reg.kill();
  try {
    // Nobody to ask for routes: the linked peers answer skill_query themselves.
    const bySkill = (await alpha.task('delegate', { skill: 'shout', args: { text: 'hi' }, timeout_ms: 10_000 }, { timeoutMs: 20_000 })) as {
      tier: string;
      peer_id: string;
      result: unknown;
    };
    assert.deepEqual([bySkill.tier, bySkill.peer_id, bySkill.result], ['direct', 'rs-b', 'HI!']);
    // A record id names its peer.
    const byAgent = (await alpha.task(
      'delegate',
      { skill: 'shout', args: { text: 'yo' }, target_agent: 'beta@rs-b', timeout_ms: 10_000 },
      { timeoutMs: 20_000 },
    )) as { tier: string; agent_id: string; result: unknown };
    assert.deepEqual([byAgent.tier, byAgent.agent_id, byAgent.result], ['direct', 'beta@rs-b', 'YO!']);
    await assert.rejects(
      alpha.task('delegate', { skill: 'nobody_has_it', args: {}, timeout_ms: 10_000 }, { timeoutMs: 20_000 }),
      /registry is unreachable \(.*\) and no linked peer has skill "nobody_has_it"/,
    );
  } finally {
    await reg.restart();
  }
});
