/**
 * The LLM agent (the one implementation tabs and Pis run) on two real node-datachannel peers,
 * against the stand-in provider: streaming, memory, cancel reaching the provider, and every
 * provider failure ending the turn with a readable error while the agent keeps serving.
 * (Tool calls through the registry and other peers: e2e/llm/.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { startRelay, type Relay } from '../test-support/relay.ts';
import { nodePeer, waitFor } from '../test-support/node-peer.ts';
import { startStandInProvider, type StandInProvider } from '../test-support/stand-in-provider.ts';
import { AgentHub } from '../agent-hub.ts';
import { attachPort, portTransport, type PortLike } from '../agent/message-port.ts';
import { connect, type AgentClient } from '../agent/client.ts';
import type { MeshMessage, ToolEvent } from '../protocol/index.ts';
import { parseDefinition, type LlmAgentDefinitionInput } from './definition.ts';
import { startLlmAgent } from './agent.ts';

const KEY = 'sk-test-llm-agent-0123456789';
let relay: Relay;
let p1: ReturnType<typeof nodePeer>, p2: ReturnType<typeof nodePeer>;
let hub1: AgentHub, hub2: AgentHub;
let stand: StandInProvider;
let asker: AgentClient;
const closers: { close(): void }[] = [];

function transport(hub: AgentHub) {
  const { port1, port2 } = new MessageChannel();
  closers.push(port1, port2);
  attachPort(hub, port1 as unknown as PortLike);
  return portTransport(port2 as unknown as PortLike & { close(): void });
}

let agentName = '';
let agentSeq = 0;
/** Starts an LLM agent on peer 1 (a fresh name each time: the previous one may still be detaching). */
async function llm(over: Partial<LlmAgentDefinitionInput> = {}, key = KEY): Promise<AgentClient> {
  agentName = `thinker-${++agentSeq}`;
  const def = parseDefinition({ name: agentName, provider: { kind: 'compatible', base_url: stand.baseUrl, model: 'stand-in-1' }, skills: [], ...over });
  const a = await startLlmAgent(transport(hub1), def, { apiKey: key });
  closers.push(a);
  return a;
}

/** Asks over the mesh (peer 2 → peer 1) and collects the streamed pieces. */
async function ask(text: string, opts: { agent?: string; session?: string; signal?: AbortSignal; timeoutMs?: number } = {}) {
  const texts: string[] = [];
  const tools: ToolEvent[] = [];
  const res = await asker.request(
    'llm-1',
    { type: 'agent_prompt', target_agent: opts.agent ?? agentName, payload: { text, session_id: opts.session ?? 's1' } },
    {
      timeoutMs: opts.timeoutMs ?? 20_000,
      ...(opts.signal && { signal: opts.signal }),
      onChunk: (m: MeshMessage) => {
        const p = m.payload as { text: string; tool?: ToolEvent };
        if (p.tool) tools.push(p.tool);
        else texts.push(p.text);
      },
    },
  );
  return { texts, tools, payload: res.payload as { text: string; error?: string } };
}

before(async () => {
  relay = await startRelay();
  stand = await startStandInProvider({ apiKey: KEY, chunkDelayMs: 5 });
  p1 = nodePeer(relay.url, 'llm-1', { skills: () => hub1.skills() });
  p2 = nodePeer(relay.url, 'llm-2', { skills: () => hub2.skills() });
  hub1 = new AgentHub({ mesh: p1.mesh });
  hub2 = new AgentHub({ mesh: p2.mesh });
  p1.start();
  p2.start();
  await waitFor(() => p1.mesh.isConnected('llm-2') && p2.mesh.isConnected('llm-1'), 'link');
  asker = await connect(transport(hub2), { name: 'asker' });
  closers.push(asker);
});

after(async () => {
  for (const c of closers) c.close();
  hub1.close();
  hub2.close();
  p1.stop();
  p2.stop();
  await stand.close();
  await relay.close();
});

test('an answer streams to a requester on another peer, with the key only in the provider call', async () => {
  const a = await llm();
  const n = stand.requests.length;
  const r = await ask('how are you');
  assert.equal(r.payload.error, undefined);
  assert.equal(r.payload.text, 'Hello! You said: how are you');
  assert.ok(r.texts.length >= 5, `streamed in ${r.texts.length} pieces`);
  assert.equal(r.texts.join(''), r.payload.text);
  const req = stand.requests[n]!;
  assert.equal(req.authorization, `Bearer ${KEY}`);
  assert.equal(req.body.stream, true);
  assert.equal(req.body.model, 'stand-in-1');
  assert.equal(req.body.messages[0]!.role, 'system');
  assert.equal(req.body.tools, undefined, 'skills: [] offers no tools');
  a.close();
});

test("memory: a chat remembers its earlier turns; another requester's chat of the same name does not", async () => {
  const a = await llm({ memory: { max_messages: 4, max_chats: 10 } });
  await ask('first question', { session: 'm' });
  await ask('second question', { session: 'm' });
  const second = stand.requests.at(-1)!.body.messages.map((m) => `${m.role}:${String(m.content)}`);
  assert.deepEqual(second, [
    'system:' + stand.requests.at(-1)!.body.messages[0]!.content,
    'user:first question',
    'assistant:Hello! You said: first question',
    'user:second question',
  ]);
  await ask('third question', { session: 'm' });
  // Bounded: 4 messages kept, starting at a user message.
  assert.deepEqual(
    stand.requests
      .at(-1)!
      .body.messages.slice(1)
      .map((m) => m.role),
    ['user', 'assistant', 'user', 'assistant', 'user'],
  );
  // The same session name from another agent is another chat.
  const other = await connect(transport(hub2), { name: 'other-asker' });
  closers.push(other);
  await other.request('llm-1', { type: 'agent_prompt', target_agent: agentName, payload: { text: 'who am i', session_id: 'm' } });
  assert.deepEqual(
    stand.requests
      .at(-1)!
      .body.messages.slice(1)
      .map((m) => m.role),
    ['user'],
  );
  a.close();
});

test('provider failures end the turn with a readable error, and the agent keeps serving', async () => {
  const a = await llm({ timeout_s: 2 });
  const cases: [Parameters<StandInProvider['failNext']>[0], number, RegExp][] = [
    [{ kind: 'status', status: 401 }, 1, /refused the API key \(401\): Incorrect API key/],
    [{ kind: 'status', status: 429, retryAfterS: 0 }, 3, /rate limited by the provider \(429\), still after 2 retries: Rate limit reached/],
    [{ kind: 'status', status: 500 }, 3, /the provider failed \(500\), still after 2 retries: The server had an error/],
    [{ kind: 'status', status: 503 }, 3, /the provider failed \(503\)/],
    [{ kind: 'status', status: 404 }, 1, /not found at .* \(404\).*check the model name/],
    [{ kind: 'cut', afterChunks: 3 }, 1, /ended in the middle|broke in the middle/],
    [{ kind: 'malformed' }, 1, /malformed stream event/],
    [{ kind: 'stall' }, 1, /no data from .* for 2 s/],
  ];
  for (const [failure, times, why] of cases) {
    stand.failNext(failure, times);
    const t0 = Date.now();
    const r = await ask('tell me something', { session: `f-${failure.kind}` });
    assert.match(r.payload.error ?? '', why, `${JSON.stringify(failure)} → ${r.payload.error}`);
    console.log(`# ${JSON.stringify(failure)} ×${times}: "${r.payload.error}" after ${Date.now() - t0} ms`);
    // …and the next question is answered.
    const ok = await ask('still there?', { session: `f-${failure.kind}` });
    assert.equal(ok.payload.text, 'Hello! You said: still there?', `after ${failure.kind}`);
  }
  // A cut stream keeps what arrived: the answer so far, then the error.
  stand.failNext({ kind: 'cut', afterChunks: 4 });
  const cut = await ask('one two three four five six', { session: 'cut' });
  assert.ok(cut.payload.text.startsWith('Hello! You'), `partial answer kept: "${cut.payload.text}"`);
  a.close();
});

test('429 with retry-after is retried after the wait the provider asked for, and answered', async () => {
  const a = await llm();
  const n = stand.requests.length;
  stand.failNext({ kind: 'status', status: 429, retryAfterS: 1 });
  const t0 = Date.now();
  const r = await ask('after a wait', { session: 'r' });
  const ms = Date.now() - t0;
  assert.equal(r.payload.text, 'Hello! You said: after a wait');
  assert.equal(stand.requests.length - n, 2, 'one refused, one answered');
  assert.ok(ms >= 1000, `answered after ${ms} ms, before the 1 s retry-after`);
  a.close();
});

test('cancel from a remote requester stops the stream at the provider', async () => {
  const a = await llm();
  const n = stand.requests.length;
  stand.setChunkDelay(100);
  try {
    const ac = new AbortController();
    const pieces: string[] = [];
    const asked = asker.request(
      'llm-1',
      { type: 'agent_prompt', target_agent: agentName, payload: { text: 'count to 300', session_id: 'c' } },
      {
        signal: ac.signal,
        onChunk: (m) => pieces.push((m.payload as { text: string }).text),
        timeoutMs: 60_000,
      },
    );
    await waitFor(() => pieces.length >= 5, 'the first numbers');
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(asked, /aborted/);
    await waitFor(() => stand.requests[n]?.outcome === 'client_closed', 'the provider to see the client go away', 5000);
    const req = stand.requests[n]!;
    console.log(`# cancel reached the provider ${req.endedAt! - t0} ms after the requester gave up (${req.chunksSent} of 302 chunks sent)`);
    assert.ok(req.chunksSent < 100, `the stream went on: ${req.chunksSent} chunks`);
  } finally {
    stand.setChunkDelay(5);
  }
  assert.equal((await ask('still there?', { session: 'c2' })).payload.text, 'Hello! You said: still there?');
  a.close();
});

test('as a skill: task_request {text} streams task_stream_chunks and returns the answer', async () => {
  const a = await llm({ skill: 'ask_thinker' });
  const chunks: string[] = [];
  const res = await asker.task('ask_thinker', { text: 'as a skill' }, { peer: 'llm-1', onChunk: (m) => chunks.push((m.payload as { text: string }).text) });
  assert.equal(res, 'Hello! You said: as a skill');
  assert.equal(chunks.join(''), res);
  await assert.rejects(asker.task('ask_thinker', { txt: 'typo' }, { peer: 'llm-1' }), /invalid args for skill ask_thinker: text/);
  a.close();
});

test('a missing key for a provider that needs one, and a bad definition, are refused with a reason', async () => {
  await assert.rejects(
    startLlmAgent(transport(hub1), parseDefinition({ name: 'nokey', provider: { kind: 'openai', model: 'gpt-4o-mini' } })),
    /no API key for the openai provider/,
  );
  assert.throws(() => parseDefinition({ name: 'x', provider: { kind: 'azure', model: 'm' } }), /provider\.base_url: a azure provider needs base_url/);
  assert.throws(() => parseDefinition({ name: 'x', provider: { kind: 'gateway', model: 'm' } }), /gateway_skill/);
  assert.throws(() => parseDefinition({ name: 'x', provider: { model: 'm', base_url: 'ftp://x' } }), /provider\.base_url/);
});
