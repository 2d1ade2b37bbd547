/**
 * A real MCP server from npm that nobody here wrote (@modelcontextprotocol/server-filesystem),
 * mounted on a sidecar from its --interop-config: its tools become skills `files.<tool>` of agent
 * `files` on that peer, with their schemas and an MCP mark in the registry; an LLM agent in a real
 * Chromium tab's worker calls `files.read_text_file` across the mesh and answers with the file's
 * real content; the dashboard marks the agent as MCP-backed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startWebStack, openSignedIn, screenshot, until, type WebStack } from '../web/helpers.ts';
import { addLlmAgent, chatText, say } from '../web/dashboard.ts';
import { startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { startStandInProvider, type StandInProvider } from '../../mesh/test-support/stand-in-provider.ts';
import { api } from '../../server/test-support.ts';
import type { AgentRecord } from '../../mesh/protocol/index.ts';

const KEY = `sk-mcp-mount-${process.pid}`;
let stack: WebStack;
let stand: StandInProvider;
let pi: SidecarProcess;
const share = tempDir('chatixia-mcp-share-');
const NOTE = `note ${process.pid}: the Pi's file, read through MCP`;

before(async () => {
  stack = await startWebStack();
  stand = await startStandInProvider({ apiKey: KEY, chunkDelayMs: 5 });
  writeFileSync(join(share, 'note.txt'), NOTE);
  const server = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-filesystem/dist/index.js');
  const config = join(tempDir(), 'interop.json');
  writeFileSync(config, JSON.stringify({ mcpServers: { files: { command: process.execPath, args: [server, share] } } }));
  pi = await startSidecarProcess(stack.registry, 'pi-files', { args: ['--interop-config', config] });
});

after(async () => {
  await pi?.stop();
  await stand?.close();
  await stack?.close();
});

test("a mounted MCP server's tools are skills of an MCP-backed agent, with their schemas", async () => {
  const token = await stack.registry.token(stack.registry.adminKey);
  const rec = await waitFor(
    async () =>
      ((await api(stack.registry.url, 'GET', '/api/registry/agents', { token })).body as AgentRecord[]).find(
        (a) => a.agent_id === 'files@pi-files' && a.health === 'active',
      ),
    'the files agent',
    60_000,
  );
  assert.deepEqual(rec.capabilities.backed_by, {
    protocol: 'mcp',
    source: `${process.execPath} ${createRequire(import.meta.url).resolve('@modelcontextprotocol/server-filesystem/dist/index.js')} ${share}`,
  });
  assert.deepEqual(rec.capabilities.mcp_servers, ['files']);
  assert.ok(rec.capabilities.skills.includes('files.read_text_file') && rec.capabilities.skills.includes('files.list_directory'));
  const spec = rec.capabilities.skill_specs?.find((s) => s.name === 'files.read_text_file');
  assert.equal(
    (spec?.args_schema?.properties as Record<string, unknown> | undefined)?.path !== undefined,
    true,
    "the tool's input schema is the skill's args schema",
  );
});

test("an LLM agent in a Chromium tab calls the Pi's MCP tool across the mesh and gets the real file", async () => {
  const { context, page, peerId, errors } = await openSignedIn(stack, stack.registry.adminKey);
  try {
    await addLlmAgent(page, { name: 'reader', baseUrl: stand.baseUrl, model: 'stand-in-1', key: KEY, skills: 'files.*' });
    const row = page.locator('[data-testid=agent-row][data-agent="files@pi-files"]');
    await row.waitFor({ timeout: 60_000 });
    assert.equal(await row.getAttribute('data-backed-by'), 'mcp', 'the dashboard marks the MCP-backed agent');
    await page.getByTestId('chat-target').selectOption({ label: `reader@${peerId} on ${peerId} (this browser)` });
    await say(page, `use files_read_text_file with ${JSON.stringify({ path: join(share, 'note.txt') })}`);
    const tool = page.locator('[data-testid=msg-tool][data-skill="files.read_text_file"][data-state=done]');
    await tool.waitFor({ timeout: 60_000 });
    assert.equal(await tool.getAttribute('data-agent'), 'files@pi-files');
    assert.equal(await tool.getAttribute('data-peer'), 'pi-files');
    await until('the answer with the file', async () => (await chatText(page)).includes(NOTE), 60_000);
    const offered = stand.requests.find((r) => r.body.tools?.some((t) => t.type === 'function' && t.function.name === 'files_read_text_file'));
    assert.ok(offered, 'the model was offered the MCP tool');
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'interop-mcp-tool');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
