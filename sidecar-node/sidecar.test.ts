/**
 * Real registry + three real sidecar processes on loopback; agents connect over the Unix socket
 * with the TS SDK, a raw socket and a stdlib-only Python agent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type RegistryProcess } from '../server/testing.ts';
import { SIDECAR_BIN, rawClient, startSidecarProcess, waitFor, type SidecarProcess } from './test-support.ts';
import { upperSkill } from '../mesh/test-support/upper-skill.ts';
import type { AgentClient } from '../mesh/agent/client.ts';
import type { MeshMessage } from '../mesh/protocol/index.ts';

let reg: RegistryProcess;
let a: SidecarProcess, b: SidecarProcess, c: SidecarProcess;
let alpha: AgentClient, beta: AgentClient, gamma: AgentClient;
const clients: AgentClient[] = [];

before(async () => {
  reg = await startRegistry();
  [a, b, c] = await Promise.all([startSidecarProcess(reg, 'sc-a'), startSidecarProcess(reg, 'sc-b'), startSidecarProcess(reg, 'sc-c')]);
  alpha = await a.agent({ name: 'alpha', skills: { upper: upperSkill() } });
  beta = await b.agent({
    name: 'beta',
    skills: {
      count: async (x: { n: number }, call) => {
        for (let i = 1; i <= x.n; i++) call.stream(String(i));
        return 'counted';
      },
    },
  });
  gamma = await c.agent({ name: 'gamma' });
  clients.push(alpha, beta, gamma);
});

after(async () => {
  for (const cl of clients) cl.close();
  await Promise.all([a, b, c].map((s) => s?.stop()));
  await reg?.stop();
});

test('the IPC socket is private (mode 0600)', () => {
  assert.equal(statSync(a.socket).mode & 0o777, 0o600);
});

test('three sidecars form a full mesh and report their links to the registry', async () => {
  for (const [cl, others] of [
    [alpha, ['sc-b', 'sc-c']],
    [beta, ['sc-a', 'sc-c']],
    [gamma, ['sc-a', 'sc-b']],
  ] as const) {
    await waitFor(async () => {
      const peers = await cl.listPeers();
      return others.every((p) => peers.includes(p));
    }, `full mesh at ${cl.name}`);
  }
  const admin = await reg.token(reg.adminKey);
  await waitFor(async () => {
    const topo = (await (await fetch(`${reg.url}/api/hub/network/topology`, { headers: { Authorization: `Bearer ${admin}` } })).json()) as {
      mesh_edges: { from_peer: string; to_peer: string; path: string }[];
    };
    const pairs = new Set(topo.mesh_edges.filter((e) => e.path === 'host').map((e) => [e.from_peer, e.to_peer].sort().join('-')));
    return pairs.has('sc-a-sc-b') && pairs.has('sc-a-sc-c') && pairs.has('sc-b-sc-c');
  }, 'host edges in the topology');
});

test('message, broadcast and request/response between agents on different sidecars', async () => {
  const atBeta: [MeshMessage, string][] = [];
  const atGamma: [MeshMessage, string][] = [];
  beta.on('message', (m, from) => atBeta.push([m, from]));
  gamma.on('message', (m, from) => atGamma.push([m, from]));

  alpha.send('sc-b', { type: 'note', target_agent: 'beta', payload: { text: 'hi beta' } });
  await waitFor(() => atBeta.find(([m]) => m.type === 'note'), 'note at beta');
  const [note, from] = atBeta.find(([m]) => m.type === 'note')!;
  assert.equal(from, 'sc-a');
  assert.equal(note.source_agent, 'alpha');
  assert.deepEqual(note.payload, { text: 'hi beta' });

  alpha.broadcast({ type: 'announce', payload: { n: 1 } });
  await waitFor(() => atBeta.some(([m]) => m.type === 'announce') && atGamma.some(([m]) => m.type === 'announce'), 'broadcast at beta and gamma');
  assert.equal(atGamma.find(([m]) => m.type === 'announce')![0].target_agent, '*');

  const r = await gamma.task('upper', { text: 'shout' }, { peer: 'sc-a' });
  assert.equal(r, 'SHOUT');

  const chunks: string[] = [];
  const res = await alpha.request(
    'sc-b',
    { type: 'task_request', payload: { skill: 'count', args: { n: 3 } } },
    {
      onChunk: (m) => chunks.push(String((m.payload as { text: string }).text)),
    },
  );
  assert.deepEqual(chunks, ['1', '2', '3']);
  assert.deepEqual(res.payload, { result: 'counted' });

  await assert.rejects(gamma.task('no_such_skill', {}, { peer: 'sc-a' }), /no agent on peer sc-a has skill "no_such_skill"/);
});

test('a 4 MiB message between agents on different sidecars arrives intact', async () => {
  const big = 'ä0123456789abcdef'.repeat((4 * 1024 * 1024) / 17);
  let got: string | undefined;
  gamma.on('message', (m) => {
    if (m.type === 'bulk') got = (m.payload as { data: string }).data;
  });
  alpha.send('sc-c', { type: 'bulk', payload: { data: big } });
  await waitFor(() => got, 'bulk at gamma', 30_000);
  assert.equal(got!.length, big.length);
  assert.ok(got === big);
});

test('delegate runs a skill on another sidecar over the direct tier', async () => {
  const out = (await gamma.task('delegate', { skill: 'upper', args: { text: 'via delegate' } })) as { tier: string; peer_id: string; result: unknown };
  assert.equal(out.tier, 'direct');
  assert.equal(out.peer_id, 'sc-a');
  assert.equal(out.result, 'VIA DELEGATE');
  const agents = (await gamma.task('list_agents', {})) as { agent_id: string }[];
  assert.ok(agents.some((x) => x.agent_id === 'alpha@sc-a'));
  const found = (await gamma.task('find_agent', { skill: 'count' })) as { peer_id: string };
  assert.equal(found.peer_id, 'sc-b');
  assert.deepEqual(await gamma.task('echo', { x: [1, 2] }), { x: [1, 2] });
});

test('chatixia-sidecar call runs a skill through the local sidecar and prints the result', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn(process.execPath, [SIDECAR_BIN, 'call', ...args], { env: { ...process.env, IPC_SOCKET: a.socket } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => resolve({ code, out, err }));
    });
  const ok = await run(['delegate', JSON.stringify({ skill: 'count', args: { n: 2 } })]);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(JSON.parse(ok.out), { tier: 'direct', peer_id: 'sc-b', agent_id: 'beta@sc-b', result: 'counted' });
  assert.match(ok.err, /12/, 'streamed chunks are shown');
  const bad = await run(['no_such_skill']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /no agent on peer sc-a has skill/);
});

test('bad IPC lines and oversize messages get error lines; the connection and the sidecar stay up', async () => {
  const cl = await rawClient(b.socket);
  await cl.write('this is not json\n');
  await cl.write('{"type":"explode","payload":{}}\n');
  await cl.write('{"type":"send","payload":{"target_peer":"sc-a"}}\n');
  await cl.write('{"type":"send","payload":{"target_peer":"nobody","message":{"type":"x"}}}\n');
  await waitFor(() => cl.lines.filter((l) => l.type === 'error').length >= 4, 'four error lines');
  assert.deepEqual(
    cl.lines.filter((l) => l.type === 'error').map((l) => l.payload.code),
    ['bad_json', 'unknown_type', 'invalid', 'not_connected'],
  );

  // A mesh message above 64 MiB (the line itself is within the IPC limit): refused by the mesh.
  const huge = JSON.stringify({
    type: 'send',
    payload: { target_peer: 'sc-a', message: { type: 'bulk', payload: { d: 'x'.repeat(64 * 1024 * 1024 + 1000) } } },
  });
  await cl.write(huge + '\n');
  // (matched by code, not position: on a loaded machine another error line may come first)
  const tooLarge = () => cl.lines.filter((l) => l.type === 'error' && l.payload.code === 'too_large');
  await waitFor(() => tooLarge().length >= 1, 'too_large from the mesh', 30_000);
  assert.match(String(tooLarge()[0]!.payload.message), /exceeds the limit/);

  // A line above the IPC line limit: skipped without buffering, answered with too_large.
  await cl.write('{"x":"' + 'y'.repeat(66 * 1024 * 1024) + '"}\n');
  await waitFor(() => tooLarge().length >= 2, 'too_large line', 30_000);

  await cl.write('{"type":"list_peers","payload":{}}\n');
  await waitFor(() => cl.lines.find((l) => l.type === 'peer_list'), 'peer_list after errors');
  cl.sock.destroy();
  assert.equal(b.child.exitCode, null, 'sidecar still running');
  assert.equal(await beta.task('echo', 'still up', { peer: 'sc-a' }), 'still up');
});

test('a Python agent (stdlib only) exchanges messages with a TS agent over IPC', async () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'test-fixtures', 'py_agent.py');
  const py = spawn('python3', [script, c.socket, 'sc-a'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const events: { event: string; [k: string]: unknown }[] = [];
    let out = '';
    py.stdout.on('data', (d) => {
      out += d.toString();
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        events.push(JSON.parse(out.slice(0, i)));
        out = out.slice(i + 1);
      }
    });
    let stderr = '';
    py.stderr.on('data', (d) => (stderr += d.toString()));
    const hello: [MeshMessage, string][] = [];
    alpha.on('message', (m, from) => {
      if (m.type === 'hello_from_python') hello.push([m, from]);
    });
    await waitFor(() => hello.length > 0, `hello from python (stderr: ${stderr})`);
    assert.equal(hello[0]![1], 'sc-c');
    assert.equal(hello[0]![0].source_agent, 'py-agent');
    // The Python agent never registered, so it receives task_requests no registered agent claims.
    assert.equal(await alpha.task('py_upper', { text: 'from ts' }, { peer: 'sc-c' }), 'FROM TS');
    const pong = await alpha.request('sc-c', { type: 'py_ping', payload: { k: 1 } });
    assert.equal(pong.type, 'py_pong');
    assert.deepEqual(pong.payload, { echo: { k: 1 } });
    assert.ok(events.some((e) => e.event === 'task'));

    // A legacy agent gets every request meant for it (target_agent = its name, which it never
    // announced here), even for a skill a built-in of the sidecar also has; other agents never see it.
    const gammaSaw: string[] = [];
    gamma.on('message', (m) => gammaSaw.push(m.type));
    assert.deepEqual(await alpha.task('echo', { n: 1 }, { peer: 'sc-c', agent: 'py-agent' }), { from: 'python', args: { n: 1 } });
    assert.ok(events.some((e) => e.event === 'echo' && e.target_agent === 'py-agent'));
    const named = await alpha.request('sc-c', { type: 'py_ping', target_agent: 'py-agent', payload: { k: 2 } });
    assert.deepEqual(named.payload, { echo: { k: 2 } });
    // Unnamed, the peer's built-in answers (the request is for the peer, as delegate's peer record says).
    assert.equal(await alpha.task('echo', 'for the peer', { peer: 'sc-c' }), 'for the peer');
    assert.deepEqual(gammaSaw, []);
  } finally {
    py.kill();
  }
});

test('killing a sidecar yields peer_disconnected at the others; restarting it reconnects', async () => {
  const down: string[] = [];
  const up: string[] = [];
  alpha.on('peer_disconnected', (p) => down.push(`a:${p}`));
  beta.on('peer_disconnected', (p) => down.push(`b:${p}`));
  alpha.on('peer_connected', (p) => up.push(`a:${p}`));
  beta.on('peer_connected', (p) => up.push(`b:${p}`));
  const t0 = Date.now();
  await c.kill();
  assert.ok(existsSync(c.socket), 'SIGKILL leaves a stale socket file behind');
  await waitFor(() => down.includes('a:sc-c') && down.includes('b:sc-c'), 'peer_disconnected sc-c');
  const detectMs = Date.now() - t0;
  c = await c.restart();
  await waitFor(() => up.includes('a:sc-c') && up.includes('b:sc-c'), 'peer_connected sc-c again');
  gamma = await c.agent({ name: 'gamma' });
  clients.push(gamma);
  assert.equal(await gamma.task('upper', { text: 'back' }, { peer: 'sc-a' }), 'BACK');
  console.log(`# kill -9 detected by the others in ${detectMs} ms`);
});

test('SIGTERM shuts down cleanly: exit 0, socket removed, records deregistered', async () => {
  const code = await c.stop();
  assert.equal(code, 0, `exit ${code} signal ${c.child.signalCode}\n${c.output()}`);
  assert.equal(existsSync(c.socket), false);
  const admin = await reg.token(reg.adminKey);
  const agents = (await (await fetch(`${reg.url}/api/registry/agents`, { headers: { Authorization: `Bearer ${admin}` } })).json()) as { agent_id: string }[];
  assert.ok(!agents.some((x) => x.agent_id === 'sc-c' || x.agent_id === 'gamma@sc-c'), JSON.stringify(agents.map((x) => x.agent_id)) + c.output());
});
