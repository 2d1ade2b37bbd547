/**
 * The registry's A2A 1.0 door, through the official @a2a-js/sdk client (ClientFactory from the
 * card URL, JSON-RPC binding): cards that validate; SendMessage to an agent on a sidecar and to a
 * worker agent in a real Chromium tab; SendStreamingMessage with the streamed pieces in order;
 * GetTask, ListTasks, CancelTask that stops the agent; an unauthorized client and a
 * policy-forbidden skill refused; tasks still there after a registry restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AgentCard, Role, TaskState, type Message, type Part, type SendMessageResult, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import { startWebStack, openSignedIn, type WebStack } from '../web/helpers.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { upperSkill } from '../../mesh/test-support/upper-skill.ts';
import { api } from '../../server/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import type { AgentRecord } from '../../mesh/protocol/index.ts';

let stack: WebStack;
let pi: SidecarProcess;
let agent: AgentClient;
let token: string;
const cancelled: string[] = [];
const AGENT = 'texter@a2a-pi';

function factory(bearer?: string): ClientFactory {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    if (bearer) headers.set('Authorization', `Bearer ${bearer}`);
    return fetch(input, { ...init, headers });
  };
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
}
const agentUrl = (id: string) => `${stack.registry.url}/a2a/agents/${encodeURIComponent(id)}/`;

const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const data = (value: unknown): Part => ({ content: { $case: 'data', value }, metadata: undefined, filename: '', mediaType: 'application/json' });
function message(parts: Part[]): Message {
  return { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER, parts, metadata: undefined, extensions: [], referenceTaskIds: [] };
}
const send = (c: Client, skill: string, args: unknown, returnImmediately = false) =>
  c.sendMessage({
    tenant: '',
    message: message([data({ skill, args })]),
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
    metadata: undefined,
  });

function asTask(r: SendMessageResult): Task {
  assert.ok('status' in r, `a task, not a message: ${JSON.stringify(r)}`);
  return r as Task;
}
const resultOf = (t: Task) => t.artifacts.find((a) => a.artifactId === 'result')?.parts[0]?.content;

before(async () => {
  stack = await startWebStack();
  const put = await api(stack.registry.url, 'PUT', '/api/policy', {
    apiKey: stack.registry.adminKey,
    body: { default: 'allow', rules: [{ skill: 'secret', roles: ['admin'] }] },
  });
  assert.equal(put.status, 200);
  pi = await startSidecarProcess(stack.registry, 'a2a-pi');
  agent = await pi.agent({
    name: 'texter',
    registerTimeoutMs: 30_000,
    skills: {
      upper: upperSkill(),
      count: {
        description: 'Streams 1..n',
        handler: async (a: { n: number }, call) => {
          for (let i = 1; i <= a.n; i++) {
            call.stream(`${i} `);
            await new Promise((r) => setTimeout(r, 20));
          }
          return { counted: a.n };
        },
      },
      wait: {
        description: 'Waits until cancelled',
        handler: (_a: unknown, call) =>
          new Promise((_res, rej) => call.signal.addEventListener('abort', () => (cancelled.push('wait'), rej(new Error('stopped'))), { once: true })),
      },
      secret: { description: 'Admins only', handler: () => 'the secret' },
    },
  });
  token = await stack.registry.token(await stack.registry.issueApiKey('a2a-client'));
  await waitFor(
    async () =>
      ((await api(stack.registry.url, 'GET', '/api/registry/agents', { token })).body as AgentRecord[]).some(
        (a) => a.agent_id === AGENT && a.health === 'active',
      ),
    'texter registered',
    60_000,
  );
});

after(async () => {
  agent?.close();
  await pi?.stop();
  await stack?.close();
});

test("cards: the registry's well-known card (and its old name) and a card per agent, valid A2A 1.0", async () => {
  const pub = await api(stack.registry.url, 'GET', '/.well-known/agent-card.json');
  assert.equal(pub.status, 200);
  const card = AgentCard.fromJSON(pub.body);
  assert.equal(card.name, 'chatixia-mesh registry');
  assert.deepEqual(
    card.supportedInterfaces.map((i) => [i.url, i.protocolBinding, i.protocolVersion]),
    [[`${stack.registry.url}/a2a/`, 'JSONRPC', '1.0']],
  );
  assert.deepEqual(card.skills, [], 'no skill names without a token');
  assert.ok(card.securitySchemes.bearer, 'the card says how to authenticate');
  assert.deepEqual((await api(stack.registry.url, 'GET', '/.well-known/agent.json')).body, pub.body);
  for (const field of ['name', 'description', 'supportedInterfaces', 'version', 'capabilities', 'defaultInputModes', 'defaultOutputModes', 'skills'])
    assert.ok(field in pub.body, `required field ${field}`);

  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  const mine = await c.getAgentCard();
  assert.equal(mine.name, AGENT);
  assert.equal(mine.supportedInterfaces[0]!.url, agentUrl(AGENT));
  assert.equal(mine.capabilities?.streaming, true);
  assert.deepEqual(mine.skills.map((s) => s.id).sort(), ['count', 'secret', 'upper', 'wait']);
  assert.match(mine.skills.find((s) => s.id === 'upper')!.description, /Upper-cases a text/);
  assert.equal((await fetch(`${agentUrl(AGENT)}.well-known/agent-card.json`)).status, 401, "an agent's card needs a token");
});

test("SendMessage runs the skill on the sidecar's agent; GetTask and ListTasks find the task", async () => {
  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  const t = asTask(await send(c, 'upper', { text: 'hello a2a' }));
  assert.equal(t.status?.state, TaskState.TASK_STATE_COMPLETED);
  assert.deepEqual(resultOf(t), { $case: 'text', value: 'HELLO A2A' });
  assert.equal(t.artifacts.find((a) => a.artifactId === 'result')?.metadata?.['chatixia/agent_id'], AGENT);
  const again = await c.getTask({ tenant: '', id: t.id, historyLength: undefined });
  assert.equal(again.status?.state, TaskState.TASK_STATE_COMPLETED);
  const list = await c.listTasks({
    tenant: '',
    contextId: '',
    status: TaskState.TASK_STATE_UNSPECIFIED,
    pageSize: 10,
    pageToken: '',
    historyLength: undefined,
    statusTimestampAfter: undefined,
    includeArtifacts: true,
  });
  assert.ok(list.tasks.some((x) => x.id === t.id));
  // Another caller does not see it.
  const other = await factory(await stack.registry.token(await stack.registry.issueApiKey('a2a-other'))).createFromUrl(agentUrl(AGENT));
  await assert.rejects(other.getTask({ tenant: '', id: t.id, historyLength: undefined }), /not found/i);
});

test("SendStreamingMessage streams the agent's pieces in order, then the result", async () => {
  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  const pieces: string[] = [];
  const states: TaskState[] = [];
  let result: unknown;
  for await (const ev of c.sendMessageStream({
    tenant: '',
    message: message([data({ skill: 'count', args: { n: 6 } })]),
    configuration: undefined,
    metadata: undefined,
  })) {
    const p = ev.payload;
    if (p?.$case === 'artifactUpdate' && p.value.artifact?.artifactId === 'stream')
      pieces.push(...p.value.artifact.parts.map((x) => (x.content?.$case === 'text' ? x.content.value : '')));
    if (p?.$case === 'artifactUpdate' && p.value.artifact?.artifactId === 'result') result = p.value.artifact.parts[0]?.content;
    if (p?.$case === 'statusUpdate') states.push(p.value.status!.state);
  }
  assert.deepEqual(pieces, ['1 ', '2 ', '3 ', '4 ', '5 ', '6 ']);
  assert.deepEqual(result, { $case: 'data', value: { counted: 6 } });
  assert.equal(states.at(-1), TaskState.TASK_STATE_COMPLETED);
});

test('CancelTask stops the agent', async () => {
  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  const t = asTask(await send(c, 'wait', {}, true));
  await waitFor(
    async () => (await c.getTask({ tenant: '', id: t.id, historyLength: undefined })).status?.state === TaskState.TASK_STATE_WORKING,
    'the task is working',
  );
  await waitFor(
    async () =>
      ((await api(stack.registry.url, 'GET', '/api/hub/tasks/all?state=assigned', { token })).body as { skill: string }[]).some((x) => x.skill === 'wait'),
    'the agent holds it',
  );
  const done = await c.cancelTask({ tenant: '', id: t.id, metadata: undefined });
  assert.equal(done.status?.state, TaskState.TASK_STATE_CANCELED);
  await waitFor(() => cancelled.includes('wait'), 'the agent saw the cancel');
});

test('refused: a client without a token, a policy-forbidden skill, a message that names no skill', async () => {
  await assert.rejects(factory().createFromUrl(agentUrl(AGENT)), /401/);
  const reg = await factory().createFromUrl(stack.registry.url); // the public registry card
  await assert.rejects(send(reg, 'upper', { text: 'x' }), /401|unauthori/i);
  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  await assert.rejects(send(c, 'secret', {}), /secret.*not allowed|403/);
  // No push notifications here (the card says so): a push URL (an SSRF vector) is never stored.
  const push = await fetch(agentUrl(AGENT), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'a2a-version': '1.0' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'CreateTaskPushNotificationConfig',
      params: { taskId: 'any', id: 'p1', url: 'http://169.254.169.254/latest' },
    }),
  });
  assert.match(JSON.stringify(await push.json()), /"error".*push notification/i, 'the server refuses push configs');
  // Plain text is a prompt for one agent's chat: at the registry's any-agent door it names nobody.
  await assert.rejects(
    reg.sendMessage(
      { tenant: '', message: message([text('hi')]), configuration: undefined, metadata: undefined },
      { serviceParameters: { Authorization: `Bearer ${token}` } },
    ),
    /name the skill/,
  );
});

test('SendMessage reaches a worker agent in a Chromium tab', async () => {
  const { context, page, peerId } = await openSignedIn(stack, stack.registry.adminKey);
  try {
    const card = page.locator('[data-testid=local-agent][data-status=running]').first();
    await card.waitFor({ timeout: 30_000 });
    const id = `${await card.getAttribute('data-agent')}@${peerId}`;
    const rec = await waitFor(
      async () =>
        ((await api(stack.registry.url, 'GET', '/api/registry/agents', { token })).body as AgentRecord[]).find(
          (a) => a.agent_id === id && a.health === 'active',
        ),
      'the tab agent',
      60_000,
    );
    const c = await factory(token).createFromUrl(agentUrl(id));
    const skills = (await c.getAgentCard()).skills.map((s) => s.id);
    assert.deepEqual(skills, rec.capabilities.skills);
    const t = skills.includes('sum') ? asTask(await send(c, 'sum', { numbers: [2, 3, 4] })) : asTask(await send(c, 'upper', { text: 'from a tab' }));
    assert.equal(t.status?.state, TaskState.TASK_STATE_COMPLETED, JSON.stringify(t.status));
    assert.deepEqual(resultOf(t), skills.includes('sum') ? { $case: 'data', value: 9 } : { $case: 'text', value: 'FROM A TAB' });
    assert.equal(t.artifacts.find((a) => a.artifactId === 'result')?.metadata?.['chatixia/agent_id'], id);

    // Plain text goes to the agent's chat, which streams its answer word by word.
    const pieces: string[] = [];
    let answer: unknown;
    for await (const ev of c.sendMessageStream({ tenant: '', message: message([text('2 3 4')]), configuration: undefined, metadata: undefined })) {
      const p = ev.payload;
      if (p?.$case === 'artifactUpdate' && p.value.artifact?.artifactId === 'stream')
        pieces.push(...p.value.artifact.parts.map((x) => (x.content?.$case === 'text' ? x.content.value : '')));
      if (p?.$case === 'artifactUpdate' && p.value.artifact?.artifactId === 'result') answer = p.value.artifact.parts[0]?.content;
    }
    assert.ok(pieces.length > 3, `the chat answer came in ${pieces.length} piece(s)`);
    assert.deepEqual(answer, { $case: 'text', value: pieces.join('') });
    assert.match(pieces.join(''), /You said: 2 3 4|add up to 9/);
  } finally {
    await context.close();
  }
});

test('tasks outlive a registry restart', async () => {
  const c = await factory(token).createFromUrl(agentUrl(AGENT));
  const t = asTask(await send(c, 'upper', { text: 'kept' }));
  await stack.registry.restart();
  const after = await waitFor(
    async () => (await factory(token).createFromUrl(agentUrl(AGENT))).getTask({ tenant: '', id: t.id, historyLength: undefined }),
    'the task after the restart',
    60_000,
  );
  assert.equal(after.status?.state, TaskState.TASK_STATE_COMPLETED);
  assert.deepEqual(resultOf(after), { $case: 'text', value: 'KEPT' });
});

test('bad input gets a readable error, never a 500; the curl request of docs/interop.md works', async () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${stack.registry.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'a2a-version': '1.0', ...headers },
      body,
    });
  const url = `/a2a/agents/${encodeURIComponent(AGENT)}/`;
  const notJson = await post(url, '{"jsonrpc": "2.0", "id": 1,');
  assert.equal(notJson.status, 400);
  assert.match(JSON.stringify(await notJson.json()), /not valid JSON/);
  const big = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
  assert.equal(big.status, 413);
  const unknown = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'Nope', params: {} }));
  assert.ok(unknown.status < 500);
  assert.match(JSON.stringify(await unknown.json()), /"error":\{"code":-32601/);
  const noAgent = await post('/a2a/agents/nobody%40nowhere/', JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'GetTask', params: { id: 'x' } }));
  assert.equal(noAgent.status, 404);
  const badParams = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'SendMessage', params: { message: 'hello' } }));
  assert.ok(badParams.status >= 400 && badParams.status < 500, String(badParams.status));
  // The docs' example, as is.
  const doc = await post(
    url,
    '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"data":{"skill":"upper","args":{"text":"hello"}}}]}}}',
  );
  assert.equal(doc.status, 200);
  const answer = (await doc.json()) as { result?: { task?: { status?: { state?: string }; artifacts?: { parts: { text?: string }[] }[] } } };
  assert.equal(answer.result?.task?.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(answer));
  assert.ok(answer.result?.task?.artifacts?.some((a) => a.parts.some((p) => p.text === 'HELLO')));
});
