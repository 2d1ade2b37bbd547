/**
 * AgentHub + agent SDK over real MessageChannels (the worker transport), on two real
 * node-datachannel peers linked through the test relay.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { startRelay, type Relay } from './test-support/relay.ts';
import { nodePeer, waitFor } from './test-support/node-peer.ts';
import { AgentHub, type IpcLine } from './agent-hub.ts';
import { attachPort, portTransport, type PortLike } from './agent/message-port.ts';
import { connect, type AgentClient, type AgentOptions } from './agent/client.ts';
import type { MeshMessage } from './protocol/index.ts';

let relay: Relay;
let p1: ReturnType<typeof nodePeer>, p2: ReturnType<typeof nodePeer>;
let hub1: AgentHub, hub2: AgentHub;
const ports: { close(): void }[] = [];

/** A worker-style agent: the SDK on one end of a MessageChannel, the hub on the other. */
async function portAgent(hub: AgentHub, opts: AgentOptions): Promise<AgentClient> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  attachPort(hub, port1 as unknown as PortLike);
  const t = portTransport(port2 as unknown as PortLike & { close(): void });
  return connect(t, opts);
}

before(async () => {
  relay = await startRelay();
  p1 = nodePeer(relay.url, 'hub-1', { skills: () => hub1.skills() });
  p2 = nodePeer(relay.url, 'hub-2', { skills: () => hub2.skills() });
  hub1 = new AgentHub({ mesh: p1.mesh, maxQueuedLines: 20 });
  hub2 = new AgentHub({ mesh: p2.mesh });
  p1.start();
  p2.start();
  await waitFor(() => p1.mesh.isConnected('hub-2') && p2.mesh.isConnected('hub-1'), 'link');
});

after(async () => {
  for (const p of ports) p.close();
  hub1.close();
  hub2.close();
  p1.stop();
  p2.stop();
  await relay.close();
});

test('several agents on one peer: skills, target_agent and replies are routed to the right one', async () => {
  const seen: Record<string, string[]> = { x: [], y: [], u: [] };
  const x = await portAgent(hub1, { name: 'x', skills: { sx: (a: { v: number }) => `x:${a.v}` } });
  const y = await portAgent(hub1, { name: 'y', skills: { sy: (a: { v: number }) => `y:${a.v}` } });
  const u = await portAgent(hub1, {}); // never registers, like the Python MeshClient
  x.on('message', (m) => seen.x!.push(m.type));
  y.on('message', (m) => seen.y!.push(m.type));
  u.on('message', (m) => seen.u!.push(m.type));
  const z = await portAgent(hub2, { name: 'z' });
  assert.equal(x.peerId, 'hub-1');

  assert.equal(await z.task('sx', { v: 1 }, { peer: 'hub-1' }), 'x:1');
  assert.equal(await z.task('sy', { v: 2 }, { peer: 'hub-1' }), 'y:2');
  z.send('hub-1', { type: 'only_for_y', target_agent: 'y' });
  z.send('hub-1', { type: 'for_everyone' });
  await waitFor(() => seen.x!.includes('for_everyone') && seen.y!.includes('for_everyone') && seen.u!.includes('for_everyone'), 'fan-out');
  assert.ok(seen.y!.includes('only_for_y'));
  assert.ok(!seen.x!.includes('only_for_y') && !seen.u!.includes('only_for_y'));
  // task_requests went to the skill owner only, never to the others.
  assert.ok(!seen.u!.includes('task_request') && !seen.x!.includes('task_request'));

  // A reply to x's request reaches x and nobody else.
  z.on('message', (m, from) => {
    if (m.type === 'question') z.send(from, { type: 'answer', request_id: m.request_id, target_agent: m.source_agent, payload: { ok: true } });
  });
  const r = await x.request('hub-2', { type: 'question' });
  assert.equal(r.type, 'answer');
  assert.ok(!seen.y!.includes('answer') && !seen.u!.includes('answer'));

  // Local calls: agent to agent on the same peer, and a built-in skill of the peer.
  hub1.registerSkill('peer_time', 'test built-in', () => 'tick');
  assert.equal(await x.task('sy', { v: 3 }), 'y:3');
  assert.equal(await x.task('peer_time', {}), 'tick');
  assert.equal(await hub1.runTask('sx', { v: 4 }), 'x:4');
  // skill_query is answered by the core from the hub's skills.
  const q = await p2.mesh.request('hub-1', { type: 'skill_query', payload: { skill: 'sy' } });
  assert.equal((q.payload as { available: boolean }).available, true);
  // Streaming replies arrive as chunks, then the result.
  y.skill('spell', async (a: { w: string }, call) => {
    for (const ch of a.w) call.stream(ch);
    return a.w.length;
  });
  const chunks: string[] = [];
  const res = await z.request(
    'hub-1',
    { type: 'task_request', payload: { skill: 'spell', args: { w: 'abc' } } },
    {
      onChunk: (m) => chunks.push((m.payload as { text: string }).text),
    },
  );
  assert.deepEqual(chunks, ['a', 'b', 'c']);
  assert.deepEqual(res.payload, { result: 3 });
  // Prompt → streamed agent_stream_chunk then agent_response.
  x.onPrompt(async function* (text) {
    yield 'you said: ';
    yield text;
  });
  const pchunks: string[] = [];
  const pr = await z.request(
    'hub-1',
    { type: 'agent_prompt', target_agent: 'x', payload: { text: 'hi' } },
    {
      onChunk: (m) => pchunks.push((m.payload as { text: string }).text),
    },
  );
  assert.deepEqual(pchunks, ['you said: ', 'hi']);
  assert.deepEqual(pr.payload, { text: 'you said: hi' });
});

test('skill specs: announced with register_agent, reported by skill_query, and args checked against the schema', async () => {
  const args_schema = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false };
  const s = await portAgent(hub1, {
    name: 'specced',
    skills: { shout: { description: 'Upper-cases text', args_schema, handler: (a: { text: string }) => a.text.toUpperCase() } },
  });
  const z = await portAgent(hub2, { name: 'asker' });
  assert.deepEqual(hub1.agents().find((a) => a.name === 'specced')!.skills, [{ name: 'shout', description: 'Upper-cases text', args_schema }]);
  const q = await p2.mesh.request('hub-1', { type: 'skill_query', payload: { skill: 'shout' } });
  assert.deepEqual(
    (q.payload as { skills: unknown[] }).skills.find((x) => (x as { name: string }).name === 'shout'),
    { name: 'shout', description: 'Upper-cases text', args_schema },
  );
  assert.equal(await z.task('shout', { text: 'ok' }, { peer: 'hub-1' }), 'OK');
  // Args that do not match are refused before the handler runs, with the path of the problem.
  await assert.rejects(z.task('shout', { text: 5 }, { peer: 'hub-1' }), /invalid args for skill shout: text: .*expected string/);
  await assert.rejects(z.task('shout', { text: 'a', extra: 1 }, { peer: 'hub-1' }), /invalid args for skill shout/);
  // A schema that is not an object schema is a programming error, reported when the skill is added.
  assert.throws(() => s.skill('bad', () => 1, { args_schema: { type: 'string' } }), /skill bad: type: args_schema must describe an object/);
  s.close();
  z.close();
});

test('a legacy agent (never registered) gets every request that names it; a built-in never answers in its place', async () => {
  hub2.registerSkill('echo', 'built-in echo', (args) => ({ from: 'built-in', args }));
  const legacy = await portAgent(hub2, {}); // like chatixia-mesh's Python MeshClient: no register_agent
  const named = await portAgent(hub2, { name: 'bystander', onPrompt: () => 'not me' });
  const legacySaw: MeshMessage[] = [];
  const bystanderSaw: string[] = [];
  legacy.on('message', (m, from) => {
    legacySaw.push(m);
    if (m.type === 'task_request') legacy.send(from, { type: 'task_response', request_id: m.request_id, payload: { result: { from: 'legacy' } } });
    if (m.type === 'agent_prompt') legacy.send(from, { type: 'agent_response', request_id: m.request_id, payload: { text: 'legacy here' } });
  });
  named.on('message', (m) => bystanderSaw.push(m.type));
  const asker = await portAgent(hub1, { name: 'asker-8' });
  assert.deepEqual(await asker.task('echo', { n: 1 }, { peer: 'hub-2', agent: 'py-agent' }), { from: 'legacy' });
  const prompt = await asker.request('hub-2', { type: 'agent_prompt', target_agent: 'py-agent', payload: { text: 'hi' } });
  assert.deepEqual(prompt.payload, { text: 'legacy here' }, 'the registered agent with onPrompt did not answer in its place');
  assert.deepEqual(
    legacySaw.map((m) => [m.type, m.target_agent]),
    [
      ['task_request', 'py-agent'],
      ['agent_prompt', 'py-agent'],
    ],
  );
  assert.deepEqual(bystanderSaw, []);
  // Unnamed, the request is for the peer: its built-in answers.
  assert.deepEqual(await asker.task('echo', { n: 2 }, { peer: 'hub-2' }), { from: 'built-in', args: { n: 2 } });
  for (const c of [legacy, named, asker]) c.close();
});

test('a bad line gets an error line and the agent stays connected', async () => {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  attachPort(hub1, port1 as unknown as PortLike);
  const got: IpcLine[] = [];
  port2.on('message', (m: IpcLine) => got.push(m));
  port2.postMessage({ nope: 1 });
  port2.postMessage({ type: 'send', payload: { target_peer: 'hub-2' } });
  port2.postMessage('{"type":"list_peers","payload":{}}');
  await waitFor(() => got.length >= 3, 'three answers');
  assert.deepEqual(
    got.map((l) => l.type),
    ['error', 'error', 'peer_list'],
  );
  assert.deepEqual((got[2]!.payload as { peers: string[] }).peers, ['hub-2']);
});

test('a slow agent overflows its bounded queue with clear errors and does not stall anyone else', async () => {
  // A transport that never drains: the agent stopped reading.
  const lines: IpcLine[] = [];
  const slow = hub1.attach({ send: (l) => (lines.push(l), false), close() {} });
  slow.receive({ type: 'register_agent', payload: { name: 'slow', skills: ['slowskill'] } });
  const z = await portAgent(hub2, { name: 'z2' });
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => z.task('slowskill', { i }, { peer: 'hub-1', timeoutMs: 3000 })));
  const overloaded = results.filter((r) => r.status === 'rejected' && /overloaded/.test(String((r.reason as Error).message)));
  assert.ok(overloaded.length >= 19, `${overloaded.length} overload errors`);
  assert.equal(lines.length, 1, 'only the first line was written before the transport reported full');
  // Everyone else is unaffected.
  const fast = await portAgent(hub1, { name: 'fast', skills: { f: () => 'ok' } });
  assert.equal(await z.task('f', {}, { peer: 'hub-1' }), 'ok');
  fast.close();
  slow.closed();
});

test('a worker agent asking for acks gets them once the remote peer holds the message; plain agents get none', async () => {
  const w = await portAgent(hub1, { name: 'acker', acks: true });
  const r = await portAgent(hub2, { name: 'ack-target' });
  const got: string[] = [];
  r.on('message', (m) => got.push(m.type));
  const ack = await w.sendAcked('hub-2', { type: 'acked', request_id: 'ak-1', target_agent: 'ack-target', payload: {} });
  assert.equal(ack.confirmed, 'peer');
  assert.equal(ack.request_id, 'ak-1');
  await waitFor(() => got.includes('acked'), 'acked message at hub-2');
  await assert.rejects(
    w.sendAcked('hub-3', { type: 'x', request_id: 'ak-2', payload: {} }),
    (e: { code: string; details: { request_id?: string; ack_id?: string } }) =>
      e.code === 'not_connected' && e.details.request_id === 'ak-2' && typeof e.details.ack_id === 'string',
  );

  // the raw lines of an agent that sends without ack_id: no ack line, no ack_id in its error
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  attachPort(hub1, port1 as unknown as PortLike);
  const lines: IpcLine[] = [];
  port2.on('message', (m: IpcLine) => lines.push(m));
  port2.postMessage({ type: 'send', payload: { target_peer: 'hub-2', message: { type: 'plain', target_agent: 'ack-target', payload: {} } } });
  port2.postMessage({ type: 'send', payload: { target_peer: 'hub-3', message: { type: 'plain', request_id: 'pl-1', payload: {} } } });
  await waitFor(() => got.includes('plain'), 'plain message at hub-2');
  await w.sendAcked('hub-2', { type: 'after', target_agent: 'ack-target', payload: {} });
  port2.postMessage({ type: 'list_peers', payload: {} });
  await waitFor(() => lines.some((l) => l.type === 'peer_list'), 'peer_list');
  assert.deepEqual(lines.map((l) => l.type).sort(), ['error', 'peer_list']);
  assert.equal('ack_id' in lines.find((l) => l.type === 'error')!.payload, false);
});
