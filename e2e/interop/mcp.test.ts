/**
 * The mesh's skills as MCP tools, through the official MCP SDK client: over Streamable HTTP at the
 * registry's /mcp (bearer token; tools are the skills the policy lets the caller use; a call runs as
 * a queued task on the agent, streamed pieces arrive as progress, a cancelled call stops the agent)
 * and over stdio from `chatixia-sidecar mcp` (a call goes through the sidecar's delegate: tier direct).
 * Real registry, real sidecar processes, a real agent on a sidecar.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { api } from '../../server/test-support.ts';
import { SIDECAR_BIN, startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { UPPER_ARGS_SCHEMA, upperSkill } from '../../mesh/test-support/upper-skill.ts';
import { countSkill } from '../../mesh/test-support/count-skill.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';

let reg: RegistryProcess;
let tools: SidecarProcess, caller: SidecarProcess;
let agent: AgentClient;
let token: string;
const cancelled: string[] = [];

const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

async function httpClient(bearer?: string): Promise<Client> {
  const c = new Client({ name: 'mcp-test', version: '1.0.0' });
  await c.connect(
    new StreamableHTTPClientTransport(new URL(`${reg.url}/mcp`), bearer ? { requestInit: { headers: { Authorization: `Bearer ${bearer}` } } } : {}),
  );
  return c;
}

before(async () => {
  reg = await startRegistry();
  // Before the sidecars start: they read the policy at start (and every 15 s).
  const put = await api(reg.url, 'PUT', '/api/policy', { apiKey: reg.adminKey, body: { default: 'allow', rules: [{ skill: 'secret', roles: ['admin'] }] } });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  [tools, caller] = await Promise.all([startSidecarProcess(reg, 'mcp-tools'), startSidecarProcess(reg, 'mcp-caller')]);
  agent = await tools.agent({
    name: 'texter',
    registerTimeoutMs: 30_000,
    skills: {
      upper: upperSkill(),
      count: countSkill(),
      wait: {
        description: 'Waits until cancelled',
        handler: (_a: unknown, call) =>
          new Promise((_res, rej) => call.signal.addEventListener('abort', () => (cancelled.push('wait'), rej(new Error('stopped'))), { once: true })),
      },
      secret: { description: 'Only admins may call it', handler: () => 'the secret' },
    },
  });
  token = await reg.token(await reg.issueApiKey('mcp-client'));
  await waitFor(
    async () =>
      (await api(reg.url, 'GET', '/api/registry/agents', { token })).body?.some?.(
        (a: { agent_id: string; health: string }) => a.agent_id === 'texter@mcp-tools' && a.health === 'active',
      ),
    'texter registered',
  );
});

after(async () => {
  agent?.close();
  await Promise.all([tools?.stop(), caller?.stop()]);
  await reg?.stop();
});

test('Streamable HTTP /mcp: the tools are the skills the caller may use, with their schemas', async () => {
  const c = await httpClient(token);
  try {
    const { tools: list } = await c.listTools();
    const byName = new Map(list.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('upper')?.inputSchema, UPPER_ARGS_SCHEMA);
    assert.match(byName.get('upper')!.description!, /Upper-cases a text \(runs on texter@mcp-tools\)/);
    assert.ok(byName.has('count') && byName.has('wait'));
    assert.ok(!byName.has('secret'), "the policy keeps admin-only skills out of an agent-role caller's tools");
    assert.ok(!byName.has('echo') && !byName.has('delegate'), "a peer's built-ins are plumbing, not tools");
  } finally {
    await c.close();
  }
});

test('Streamable HTTP /mcp: a call runs on the agent and reports its tier; a streamed skill sends progress in order', async () => {
  const c = await httpClient(token);
  try {
    const r = await c.callTool({ name: 'upper', arguments: { text: 'hello mesh' } });
    assert.equal(text(r), 'HELLO MESH');
    assert.equal(r._meta?.['chatixia/tier'], 'task_queue');
    assert.equal(r._meta?.['chatixia/agent_id'], 'texter@mcp-tools');
    const progress: string[] = [];
    const s = await c.callTool({ name: 'count', arguments: { n: 5 } }, undefined, { onprogress: (p) => progress.push(p.message ?? '') });
    assert.equal(text(s), 'done');
    assert.deepEqual(progress, ['1 ', '2 ', '3 ', '4 ', '5 ']);
  } finally {
    await c.close();
  }
});

test('Streamable HTTP /mcp: a policy-forbidden skill is refused; bad arguments get a readable error', async () => {
  const c = await httpClient(token);
  try {
    const r = (await c.callTool({ name: 'secret', arguments: {} }).catch((e: Error) => e)) as Error;
    assert.match(r.message, /no tool "secret"/);
    const bad = (await c.callTool({ name: 'upper', arguments: { text: 42 } })) as CallToolResult;
    assert.equal(bad.isError, true);
    assert.match(text(bad), /text/);
  } finally {
    await c.close();
  }
});

test('Streamable HTTP /mcp: cancelling a call stops the agent', async () => {
  const c = await httpClient(token);
  try {
    const ac = new AbortController();
    const call = c.callTool({ name: 'wait', arguments: {} }, undefined, { signal: ac.signal }).catch((e: Error) => e);
    await waitFor(
      async () => (await api(reg.url, 'GET', '/api/hub/tasks/all?state=assigned', { token })).body?.some?.((t: { skill: string }) => t.skill === 'wait'),
      'the wait task is held by its agent',
    );
    ac.abort();
    assert.ok((await call) instanceof Error);
    await waitFor(() => cancelled.includes('wait'), 'the agent saw the cancel');
  } finally {
    await c.close();
  }
});

test('Streamable HTTP /mcp: no token, no tools', async () => {
  const res = await fetch(`${reg.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unauthorized');
  await assert.rejects(httpClient('not-a-token'), /401|invalid/);
});

test('stdio: chatixia-sidecar mcp lists the mesh tools and runs a call through delegate (tier direct)', async () => {
  const c = new Client({ name: 'mcp-stdio-test', version: '1.0.0' });
  await c.connect(new StdioClientTransport({ command: process.execPath, args: [SIDECAR_BIN, 'mcp', '--ipc-socket', caller.socket], stderr: 'pipe' }));
  try {
    const { tools: list } = await c.listTools();
    assert.ok(list.some((t) => t.name === 'upper'));
    assert.ok(!list.some((t) => t.name === 'secret'));
    await waitFor(
      async () => {
        const r = await c.callTool({ name: 'upper', arguments: { text: 'over stdio' } });
        return r._meta?.['chatixia/tier'] === 'direct' ? r : undefined;
      },
      'a call over the DataChannel',
      30_000,
    );
    const r = await c.callTool({ name: 'upper', arguments: { text: 'over stdio' } });
    assert.equal(text(r), 'OVER STDIO');
    assert.equal(r._meta?.['chatixia/agent_id'], 'texter@mcp-tools');
  } finally {
    await c.close();
  }
});

test('Streamable HTTP /mcp: bad input gets a readable error, never a 500', async () => {
  const post = (body: string) =>
    fetch(`${reg.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body,
    });
  for (const body of ['{"jsonrpc":', '[]', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 42 } })]) {
    const res = await post(body);
    assert.ok(res.status >= 200 && res.status < 500, `${body.slice(0, 40)} → ${res.status}`);
    assert.match(await res.text(), /error/i, `${body.slice(0, 40)} → ${res.status}`);
  }
  const big = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
  assert.equal(big.status, 413);
});
