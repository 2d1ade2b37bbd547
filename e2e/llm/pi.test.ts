/**
 * An LLM agent on a "Pi" from one file and one command, with real parts: the registry, two real
 * sidecar processes, `chatixia-sidecar agent run agent.yaml`, a skill agent on the other sidecar,
 * the stdlib Python agent asking over IPC, and the stand-in provider. The model's tool call runs a
 * skill on the other peer through delegate; the answer streams back to Python; Python's cancel
 * stops the provider's stream; the key is found nowhere but in the provider's request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { SIDECAR_BIN, startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { startStandInProvider, type StandInProvider } from '../../mesh/test-support/stand-in-provider.ts';
import { UPPER_ARGS_SCHEMA, upperSkill } from '../../mesh/test-support/upper-skill.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import type { MeshMessage, ToolEvent } from '../../mesh/protocol/index.ts';
import { readDefinition } from '../../sidecar-node/llm-agent.ts';
import { socketTransport } from '../../sidecar-node/agent-socket.ts';
import { startLlmAgent } from '../../mesh/llm/agent.ts';
import { parseDefinition } from '../../mesh/llm/definition.ts';
import { findInRegistryData, pythonAgent, runAgentFile, writeAgentDefinition } from './support.ts';

const KEY = `sk-pi-secret-${process.pid}-7f3a9c`;
let reg: RegistryProcess;
let stand: StandInProvider;
let llmPi: SidecarProcess, toolsPi: SidecarProcess;
let upperAgent: AgentClient;
let runner: ChildProcess;
let runnerLog = '';
const seenByTools: MeshMessage[] = [];
/** What the skill on the other peer was asked (args, who asked). */
const ran: unknown[] = [];
const dir = tempDir('chatixia-llm-pi-');
const agentFile = join(dir, 'agent.yaml');
/** Where `agent run agent.yaml` keeps its conversations: beside the definition. */
const memoryFile = join(dir, 'agent.memory.json');

/** Runs agent.yaml next to the LLM agent's sidecar until it says it is ready (its log goes to runnerLog). */
async function startRunner(): Promise<void> {
  const from = runnerLog.length;
  runner = runAgentFile(agentFile, llmPi.socket);
  runner.stderr!.on('data', (d: Buffer) => (runnerLog += d.toString()));
  runner.stdout!.on('data', (d: Buffer) => (runnerLog += d.toString()));
  await waitFor(() => /\[agent assistant\] ready on peer pi-llm/.test(runnerLog.slice(from)), `the agent runner to start (${runnerLog})`, 60_000);
}

/** Asks the Pi's LLM agent from the Python agent over IPC; resolves with its answer. */
async function askFromPython(text: string): Promise<unknown> {
  const py = pythonAgent([llmPi.socket, '--ask', 'pi-llm', 'assistant', text]);
  try {
    await waitFor(() => py.events.some((e) => e.event === 'response'), `an answer to "${text}" (${py.stderr()})`, 30_000);
  } finally {
    py.child.kill();
  }
  return py.events.find((e) => e.event === 'response')!.payload;
}

before(async () => {
  reg = await startRegistry();
  stand = await startStandInProvider({ apiKey: KEY, chunkDelayMs: 10 });
  [llmPi, toolsPi] = await Promise.all([startSidecarProcess(reg, 'pi-llm'), startSidecarProcess(reg, 'pi-tools')]);
  upperAgent = await toolsPi.agent({
    name: 'upper',
    registerTimeoutMs: 30_000,
    skills: { upper: upperSkill((args, call) => ran.push({ args, from: call.fromPeer, agent: call.sourceAgent })) },
  });
  upperAgent.on('message', (m) => seenByTools.push(m));
  writeAgentDefinition(dir, {
    name: 'assistant',
    baseUrl: stand.baseUrl,
    key: KEY,
    skills: ['upper'],
    more: ['timeout_s: 20', 'serve_as_gateway: llm_gateway'],
  });
  await startRunner();
  // Both records, with the skill's spec, are in the registry before the model is asked.
  await waitFor(
    async () => {
      const agents = (await (
        await fetch(`${reg.url}/api/registry/agents`, { headers: { Authorization: `Bearer ${await reg.token(reg.adminKey)}` } })
      ).json()) as { agent_id: string; health: string; capabilities: { skill_specs?: { name: string }[] } }[];
      return (
        agents.some((a) => a.agent_id === 'upper@pi-tools' && a.health === 'active' && a.capabilities.skill_specs?.some((s) => s.name === 'upper')) &&
        agents.some((a) => a.agent_id === 'assistant@pi-llm')
      );
    },
    'the registry to list both agents',
    60_000,
  );
});

after(async () => {
  runner?.kill('SIGTERM');
  upperAgent?.close();
  await Promise.all([llmPi, toolsPi].map((s) => s?.stop()));
  await stand?.close();
  await reg?.stop();
});

test("a Python agent asks the Pi's LLM agent over IPC; its tool call runs a skill on another peer; the answer streams back", async () => {
  const py = pythonAgent([llmPi.socket, '--ask', 'pi-llm', 'assistant', 'use upper with {"text":"from python"}']);
  try {
    await waitFor(() => py.events.some((e) => e.event === 'response'), `the answer (${py.stderr()} ${runnerLog})`, 60_000);
  } finally {
    py.child.kill();
  }
  const chunks = py.events.filter((e) => e.event === 'chunk').map((e) => e.payload as { text: string; tool?: ToolEvent });
  const tools = chunks.flatMap((c) => (c.tool ? [c.tool] : []));
  assert.deepEqual(
    tools.map((t) => t.state),
    ['running', 'done'],
  );
  const done = tools[1]!;
  assert.equal(done.skill, 'upper');
  assert.equal(done.agent_id, 'upper@pi-tools');
  assert.equal(done.peer_id, 'pi-tools');
  assert.equal(done.tier, 'direct');
  assert.equal(done.result, '"FROM PYTHON"');
  assert.ok(typeof done.ms === 'number');
  const text = chunks
    .filter((c) => !c.tool)
    .map((c) => c.text)
    .join('');
  assert.equal(text, 'The upper tool says: "FROM PYTHON"');
  assert.deepEqual(ran, [{ args: { text: 'from python' }, from: 'pi-llm', agent: 'assistant' }]);
  assert.ok(chunks.filter((c) => !c.tool).length >= 4, 'the answer streamed in pieces');
  assert.deepEqual(py.events.find((e) => e.event === 'response')!.payload, { text });
  // The model got the skill as a tool, with its description and schema, and the tool's result.
  const last = stand.requests.at(-1)!.body;
  const offered = last.tools?.map((t) => (t.type === 'function' ? t.function : undefined));
  assert.equal(offered?.length, 1, 'only the allowed skill is offered');
  assert.match(offered![0]!.description ?? '', /Upper-cases a text \(runs on upper@pi-tools\)/);
  assert.deepEqual(offered![0]!.parameters, UPPER_ARGS_SCHEMA);
  assert.deepEqual(last.messages.at(-1), {
    role: 'tool',
    tool_call_id: last.messages.at(-2)!.role === 'assistant' ? (last.messages.at(-2) as { tool_calls: { id: string }[] }).tool_calls[0]!.id : '',
    content: '"FROM PYTHON"',
  });
});

test("Python's cancel stops the stand-in's stream; the agent answers the next question", async () => {
  stand.setChunkDelay(100);
  const n = stand.requests.length;
  const py = pythonAgent([llmPi.socket, '--ask', 'pi-llm', 'assistant', 'count to 300', '--cancel-after', '5']);
  try {
    await waitFor(() => py.events.some((e) => e.event === 'cancelled'), `python to cancel (${py.stderr()})`, 60_000);
    await waitFor(() => stand.requests[n]?.outcome === 'client_closed', 'the provider to see the client go away', 15_000);
    console.log(`# after Python's cancel (sent after 5 chunks) the provider had sent ${stand.requests[n]!.chunksSent} of 302 chunks`);
    await waitFor(() => py.events.some((e) => e.event === 'response'), 'the closing answer', 15_000);
    assert.match(String(py.events.find((e) => e.event === 'response')!.payload!.error), /cancelled/);
  } finally {
    py.child.kill();
    stand.setChunkDelay(10);
  }
  assert.ok(stand.requests[n]!.chunksSent < 100);
  assert.deepEqual(await askFromPython('are you there'), { text: 'Hello! You said: are you there' });
});

test('memory survives a restart: the conversation is in a 0600 file beside agent.yaml, and the model sees it again', async () => {
  const before = stand.requests.at(-1)!.body.messages.map((m) => `${m.role}:${String(m.content)}`);
  assert.ok(before.includes('user:use upper with {"text":"from python"}'), `the chat so far: ${before.join(' | ')}`);
  const exited = new Promise((r) => runner.once('exit', r));
  runner.kill('SIGTERM');
  await exited;
  assert.equal(statSync(memoryFile).mode & 0o777, 0o600);
  const saved = readFileSync(memoryFile, 'utf8');
  assert.ok(saved.includes('Hello! You said: are you there') && saved.includes('\\"FROM PYTHON\\"'), saved);
  assert.ok(!saved.includes('count to 300'), 'a cancelled answer is not remembered');

  await startRunner();
  assert.deepEqual(await askFromPython('and now?'), { text: 'Hello! You said: and now?' });
  const after = stand.requests.at(-1)!.body.messages.map((m) => `${m.role}:${String(m.content)}`);
  assert.deepEqual(
    after,
    [...before, 'assistant:Hello! You said: are you there', 'user:and now?'],
    'the restarted agent sends the model the same conversation, then the new question',
  );
});

test("gateway: an agent on another peer with no key uses the Pi's provider through its gateway skill", async () => {
  const n = stand.requests.length;
  const def = parseDefinition({ name: 'via-gateway', provider: { kind: 'gateway', model: 'gateway', gateway_skill: 'llm_gateway' }, skills: [] });
  const remote = await startLlmAgent(await socketTransport(toolsPi.socket), def, { registerTimeoutMs: 30_000 });
  const asker = await toolsPi.agent({ name: 'gw-asker', registerTimeoutMs: 30_000 });
  try {
    await waitFor(
      async () => {
        const agents = (await (
          await fetch(`${reg.url}/api/registry/agents`, { headers: { Authorization: `Bearer ${await reg.token(reg.adminKey)}` } })
        ).json()) as { agent_id: string; capabilities: { skills: string[] } }[];
        return agents.some((a) => a.agent_id === 'assistant@pi-llm' && a.capabilities.skills.includes('llm_gateway'));
      },
      'the gateway skill in the registry',
      60_000,
    );
    const pieces: string[] = [];
    const r = await asker.request(
      'local',
      { type: 'agent_prompt', target_agent: 'via-gateway', payload: { text: 'through the pi', session_id: 'g' } },
      {
        timeoutMs: 60_000,
        onChunk: (m) => pieces.push((m.payload as { text: string }).text),
      },
    );
    assert.deepEqual(r.payload, { text: 'Hello! You said: through the pi' });
    assert.ok(pieces.length >= 3, 'streamed through the gateway');
    assert.equal(stand.requests.length, n + 1);
    assert.equal(stand.requests[n]!.authorization, `Bearer ${KEY}`, "the Pi's key, from the Pi");
  } finally {
    remote.close();
    asker.close();
  }
});

test('scaffold: agent init writes a definition that parses; a key file others can read is refused', async () => {
  const file = join(dir, 'new-agent.yaml');
  const init = spawn(process.execPath, [SIDECAR_BIN, 'agent', 'init', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise((r) => init.once('exit', r));
  assert.equal(init.exitCode, 0);
  assert.ok(existsSync(file));
  const def = readDefinition(file);
  assert.equal(def.provider.kind, 'openai');
  assert.ok(!readFileSync(file, 'utf8').includes('sk-'), 'no key in the scaffold');
  const again = spawn(process.execPath, [SIDECAR_BIN, 'agent', 'init', file], { stdio: 'ignore' });
  await new Promise((r) => again.once('exit', r));
  assert.equal(again.exitCode, 1, 'never overwrites');

  const leaky = join(dir, 'leaky.key');
  writeFileSync(leaky, KEY);
  chmodSync(leaky, 0o644);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, `name: leaky\nprovider: {kind: openai, model: m, api_key_file: ${leaky}}\n`);
  const run = runAgentFile(bad, llmPi.socket);
  let err = '';
  run.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise((r) => run.once('exit', r));
  assert.equal(run.exitCode, 2);
  assert.match(err, /can be read by others \(mode 644\); run: chmod 600/);
  assert.ok(!err.includes(KEY));
  const noKey = spawn(process.execPath, [SIDECAR_BIN, 'agent', 'run', file, '--ipc-socket', llmPi.socket], {
    env: { ...process.env, OPENAI_API_KEY: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err2 = '';
  noKey.stderr!.on('data', (d: Buffer) => (err2 += d.toString()));
  await new Promise((r) => noKey.once('exit', r));
  assert.equal(noKey.exitCode, 2);
  assert.match(err2, /no API key: set OPENAI_API_KEY/);
});

test("the key reaches the provider and nothing else: not the registry's database, logs or audit, not any peer", async () => {
  assert.ok(
    stand.requests.some((r) => r.authorization === `Bearer ${KEY}`),
    'the provider got the key (so the scan below can find it)',
  );
  const places: [string, string][] = [
    ['the sidecar running the agent (log)', llmPi.output()],
    ['the other sidecar (log)', toolsPi.output()],
    ['the agent runner (log)', runnerLog],
    ["the agent's memory file", readFileSync(memoryFile, 'utf8')],
    ['messages the skill agent on the other peer received', JSON.stringify([seenByTools, ran])],
    ['the registry (log)', reg.output()],
  ];
  for (const [where, text] of places) assert.ok(!text.includes(KEY), `the key is in ${where}`);
  assert.ok(reg.output().length > 0 && llmPi.output().includes('pi-llm'), 'the logs were captured');
  runner.kill('SIGTERM');
  await reg.stop();
  assert.deepEqual(await findInRegistryData(reg.dataDir, KEY), []);
  // The scan does find what is there: the agent's name is in the agents table and the data files.
  assert.ok((await findInRegistryData(reg.dataDir, 'assistant@pi-llm')).some((p) => p.startsWith('table')));
});
