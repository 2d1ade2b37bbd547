/**
 * An LLM agent in a real Chromium tab's Web Worker, added with "+ LLM agent", against the stand-in
 * provider (CORS like OpenAI's), with a real registry and a real sidecar on another peer:
 * the answer streams into the dashboard chat; the model's tool call runs a skill on the sidecar's
 * agent and the answer uses its result, with the call shown in the chat (skill, agent, peer,
 * tier, time); Stop ends the provider's stream; the agent and its conversation survive a reload; a provider that
 * refuses browser calls gives a readable error; the key is found nowhere but at the provider.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, screenshot, until, type WebStack } from '../web/helpers.ts';
import { addLlmAgent, chatText, recordReplySteps, say, untilTurnOver } from '../web/dashboard.ts';
import { startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { startStandInProvider, type StandInProvider } from '../../mesh/test-support/stand-in-provider.ts';
import { upperSkill } from '../../mesh/test-support/upper-skill.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import type { AgentRecord, MeshMessage } from '../../mesh/protocol/index.ts';
import { findInRegistryData, runAgentFile, writeAgentDefinition } from './support.ts';

const KEY = `sk-tab-secret-${process.pid}-c0ffee`;
let stack: WebStack;
let stand: StandInProvider;
let noCors: StandInProvider;
let pi: SidecarProcess;
let upper: AgentClient;
const seenByPi: MeshMessage[] = [];
/** What the skill on the other peer was asked (args, who asked). */
const ran: unknown[] = [];
const consoleLines: string[] = [];

before(async () => {
  stack = await startWebStack();
  stand = await startStandInProvider({ apiKey: KEY, chunkDelayMs: 30 });
  noCors = await startStandInProvider({ cors: false });
  pi = await startSidecarProcess(stack.registry, 'pi-tools');
  upper = await pi.agent({
    name: 'upper',
    registerTimeoutMs: 30_000,
    skills: { upper: upperSkill((args, call) => ran.push({ args, from: call.fromPeer, agent: call.sourceAgent })) },
  });
  upper.on('message', (m) => seenByPi.push(m));
});
after(async () => {
  upper?.close();
  await pi?.stop();
  await stand?.close();
  await noCors?.close();
  await stack?.close();
});

/** Reads the registry's agent list every 50 ms: when the record was missing (ms since the watch began), and its last heartbeat. */
async function watchRecord(agentId: string) {
  const token = await stack.registry.token(stack.registry.adminKey);
  const t0 = Date.now();
  const missingAt: number[] = [];
  let lastHeartbeatMs = 0;
  let watching = true;
  const done = (async () => {
    while (watching) {
      const res = await fetch(`${stack.registry.url}/api/registry/agents`, { headers: { authorization: `Bearer ${token}` } });
      const record = ((await res.json()) as AgentRecord[]).find((x) => x.agent_id === agentId);
      if (record) lastHeartbeatMs = Date.parse(record.last_heartbeat);
      else missingAt.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    get lastHeartbeatMs() {
      return lastHeartbeatMs;
    },
    async stop() {
      watching = false;
      await done;
      return missingAt;
    },
  };
}

test('an LLM agent in a tab streams its answer, calls a skill on a sidecar peer, stops on Stop, survives a reload with its conversation', async () => {
  const { context, page, peerId, errors } = await openSignedIn(stack, stack.registry.adminKey);
  page.on('console', (m) => consoleLines.push(m.text()));
  await addLlmAgent(page, { name: 'assistant', baseUrl: stand.baseUrl, model: 'stand-in-1', key: KEY, skills: 'upper' });
  await page.locator(`[data-testid=agent-row][data-agent="assistant@${peerId}"]`).waitFor({ timeout: 60_000 });
  await page.locator('[data-testid=agent-row][data-agent="upper@pi-tools"] .chip.skill[data-skill=upper]', { hasText: '(text)' }).waitFor({ timeout: 60_000 });
  await page.getByTestId('chat-target').selectOption({ label: `assistant@${peerId} on ${peerId} (this browser)` });

  // 1. Streaming: the reply bubble grows in several steps.
  const replySteps = await recordReplySteps(page);
  await say(page, 'hello there, model');
  await until('the streamed answer', async () => (await chatText(page)).includes('Hello! You said: hello there, model'), 60_000);
  const seen = await replySteps();
  assert.ok(seen.length >= 4, `the answer arrived in ${seen.length} step(s)`);
  assert.equal(stand.requests.at(-1)!.authorization, `Bearer ${KEY}`, 'the worker called the provider with the key');
  assert.match(stand.requests.at(-1)!.origin ?? '', /^http:\/\/127\.0\.0\.1:/, 'a browser call (with an Origin)');
  await untilTurnOver(page);

  // 2. A tool call: the model asks for `upper`, which runs on the sidecar's agent on another peer.
  await say(page, 'use upper with {"text":"from the tab"}');
  const tool = page.locator('[data-testid=msg-tool][data-skill=upper][data-state=done]');
  await tool.waitFor({ timeout: 60_000 });
  assert.equal(await tool.getAttribute('data-agent'), 'upper@pi-tools');
  assert.equal(await tool.getAttribute('data-peer'), 'pi-tools');
  assert.equal(await tool.getAttribute('data-tier'), 'direct');
  assert.match((await tool.textContent()) ?? '', /upper.*upper@pi-tools · on pi-tools · direct · \d+ ms.*→ "FROM THE TAB"/);
  await until('the answer using the result', async () => (await chatText(page)).includes('The upper tool says: "FROM THE TAB"'), 60_000);
  assert.deepEqual(ran, [{ args: { text: 'from the tab' }, from: peerId, agent: 'assistant' }], "the skill ran on the sidecar, asked by the tab's agent");
  await screenshot(page, 'llm-chat');

  // 3. Stop: the provider's stream ends (the stand-in sees the client go away).
  await untilTurnOver(page);
  stand.setChunkDelay(150);
  const n = stand.requests.length;
  await say(page, 'count to 300');
  await until('the first numbers', async () => /\b3 4 /.test(await chatText(page)), 60_000);
  await page.getByTestId('chat-stop').click();
  await until('the provider to see the client go away', () => stand.requests[n]?.outcome === 'client_closed', 15_000);
  await page.getByTestId('msg-system').filter({ hasText: 'Stopped.' }).waitFor({ timeout: 10_000 });
  assert.ok(stand.requests[n]!.chunksSent < 100, `${stand.requests[n]!.chunksSent} chunks went out after Stop`);
  console.log(`# Stop: the provider had sent ${stand.requests[n]!.chunksSent} of 302 chunks`);
  stand.setChunkDelay(30);

  // 4. It survives a reload (definition and key in IndexedDB) and answers again, remembering the chat.
  // Its registry record stays all along: the new page's first heartbeat waits for its saved agents
  // (it once ran earlier, dropped the record as gone and left it missing until the next beat, 15 s).
  const record = await watchRecord(`assistant@${peerId}`);
  const reloadAt = Date.now();
  await page.reload();
  await page.locator('[data-testid=local-agent][data-agent="assistant"][data-status=running]').waitFor({ timeout: 60_000 });
  await until('a heartbeat from the reloaded page', () => record.lastHeartbeatMs > reloadAt);
  assert.deepEqual(await record.stop(), [], 'the record was missing from the registry (ms after the reload)');
  await page.getByTestId('chat-target').selectOption({ label: `assistant@${peerId} on ${peerId} (this browser)` });
  await say(page, 'back again');
  await until(
    'an answer after the reload',
    async () => {
      const text = await chatText(page);
      if (!text.includes('Hello! You said: back again')) throw new Error(`the chat shows: …${text.slice(-300)}`);
      return true;
    },
    60_000,
  );
  // The model sees the conversation from before the reload (kept in IndexedDB by the worker), not the stopped answer.
  const seenByModel = stand.requests.at(-1)!.body.messages.map((m) => `${m.role}:${String(m.content)}`);
  assert.deepEqual(seenByModel.slice(1, 3), ['user:hello there, model', 'assistant:Hello! You said: hello there, model']);
  assert.ok(seenByModel.includes('user:use upper with {"text":"from the tab"}') && seenByModel.includes('tool:"FROM THE TAB"'), seenByModel.join(' | '));
  assert.ok(!seenByModel.includes('user:count to 300'), 'a stopped answer is not remembered');
  assert.equal(seenByModel.at(-1), 'user:back again');
  assert.ok(await page.evaluate(() => !JSON.stringify({ ...localStorage }).includes('sk-')), 'no key in localStorage');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a provider that refuses browser calls (no CORS) gives a readable error in the chat', async () => {
  const { context, page, peerId } = await openSignedIn(stack, stack.registry.adminKey);
  page.on('console', (m) => consoleLines.push(m.text()));
  await addLlmAgent(page, { name: 'closed', baseUrl: noCors.baseUrl, model: 'stand-in-1', key: 'not-needed', skills: '' });
  await page.locator(`[data-testid=agent-row][data-agent="closed@${peerId}"]`).waitFor({ timeout: 60_000 });
  await page.getByTestId('chat-target').selectOption({ label: `closed@${peerId} on ${peerId} (this browser)` });
  await say(page, 'anyone there?');
  const err = page.getByTestId('msg-system').filter({ hasText: 'Not answered' });
  await err.waitFor({ timeout: 60_000 });
  assert.match((await err.textContent()) ?? '', /could not reach .*CORS.*OLLAMA_ORIGINS.*gateway/);
  await context.close();
});

test('the same kind of definition on a Pi (agent run agent.yaml), chatted with from the dashboard: streamed, its tool call shown', async () => {
  const dir = tempDir('chatixia-llm-tab-pi-');
  const file = writeAgentDefinition(dir, { name: 'pi-assistant', baseUrl: stand.baseUrl, key: KEY, skills: ['reverse'] });
  // A skill only the Pi has (tabs have a built-in `upper` too): the tool call must run on the Pi.
  const reverse = await pi.agent({
    name: 'reverse',
    registerTimeoutMs: 30_000,
    skills: {
      reverse: {
        description: 'Reverses a text',
        args_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        handler: (a: { text: string }) => [...a.text].reverse().join(''),
      },
    },
  });
  const runner = runAgentFile(file, pi.socket);
  let log = '';
  runner.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await waitFor(() => /\[agent pi-assistant\] ready on peer pi-tools/.test(log), `the agent runner to start (${log})`, 60_000);
    const { context, page } = await openSignedIn(stack, stack.registry.adminKey);
    await page.locator('[data-testid=agent-row][data-agent="pi-assistant@pi-tools"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=agent-row][data-agent="reverse@pi-tools"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('chat-target').selectOption({ label: 'pi-assistant@pi-tools on pi-tools' });
    await say(page, 'use reverse with {"text":"from the pi"}');
    const tool = page.locator('[data-testid=msg-tool][data-skill=reverse][data-state=done]');
    await tool.waitFor({ timeout: 60_000 });
    assert.equal(await tool.getAttribute('data-agent'), 'reverse@pi-tools');
    assert.equal(await tool.getAttribute('data-tier'), 'local', "the skill is on the Pi's own sidecar");
    await until('the answer using the result', async () => (await chatText(page)).includes('The reverse tool says: "ip eht morf"'), 60_000);
    assert.ok(!log.includes(KEY), "the key is not in the agent's log");
    await screenshot(page, 'llm-pi-chat');
    await context.close();
  } finally {
    runner.kill('SIGTERM');
    reverse.close();
  }
});

test("the key reaches the provider and nothing else: not the registry's database, logs or audit, not any peer, not the console", async () => {
  const places: [string, string][] = [
    ['the sidecar peer (log)', pi.output()],
    ['messages the agent on the sidecar received', JSON.stringify([seenByPi, ran])],
    ['the browser console', consoleLines.join('\n')],
    ['the registry (log)', stack.registry.output()],
  ];
  for (const [where, text] of places) assert.ok(!text.includes(KEY), `the key is in ${where}`);
  await pi.stop();
  await stack.registry.stop();
  assert.deepEqual(await findInRegistryData(stack.registry.dataDir, KEY), []);
});
