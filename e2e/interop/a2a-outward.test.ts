/**
 * Outward: an external A2A agent, built with @a2a-js/sdk's own server (its Express handlers, its
 * request handler and task store), mounted on a sidecar from --interop-config; an agent on another
 * sidecar calls its skill through delegate and gets the streamed pieces and the result. The SSRF
 * guard refuses the same server under a host name the allow-list does not name (loopback).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { AGENT_CARD_PATH, TaskState, type AgentCard } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { api } from '../../server/test-support.ts';
import { startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { payloadOf, type AgentRecord } from '../../mesh/protocol/index.ts';

let reg: RegistryProcess;
let external: Server;
let port = 0;
let gateway: SidecarProcess, caller: SidecarProcess;
let asker: AgentClient;
const asked: string[] = [];

/** A weather agent as an SDK user would write it: streams its forecast word by word. */
const executor: AgentExecutor = {
  async execute(ctx, bus) {
    const { taskId, contextId } = ctx;
    const city = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    asked.push(city);
    bus.publish(
      AgentEvent.task({
        id: taskId,
        contextId,
        status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() },
        artifacts: [],
        history: [ctx.userMessage],
        metadata: undefined,
      }),
    );
    const words = ['Sunny ', 'and ', 'mild ', `in ${city}`];
    for (const [i, w] of words.entries()) {
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId,
          contextId,
          append: i > 0,
          lastChunk: i === words.length - 1,
          metadata: undefined,
          artifact: {
            artifactId: 'forecast',
            name: 'forecast',
            description: '',
            parts: [{ content: { $case: 'text', value: w }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
            metadata: undefined,
            extensions: [],
          },
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId,
        status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );
    bus.finished();
  },
  async cancelTask() {},
};

function card(base: string): AgentCard {
  return {
    name: 'Weather',
    description: 'Forecasts by city',
    version: '1.0.0',
    provider: undefined,
    documentationUrl: undefined,
    iconUrl: undefined,
    supportedInterfaces: [{ url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' }],
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    signatures: [],
    skills: [
      {
        id: 'forecast',
        name: 'Forecast',
        description: 'The weather in a city',
        tags: ['weather'],
        examples: ['Oslo'],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
  };
}

before(async () => {
  const app = express();
  external = app.listen(0, '127.0.0.1');
  await new Promise((r) => external.once('listening', r));
  port = (external.address() as AddressInfo).port;
  const agentCard = card(`http://127.0.0.1:${port}`);
  const handler = new DefaultRequestHandler(agentCard, new InMemoryTaskStore(), executor);
  app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));

  reg = await startRegistry();
  const config = join(tempDir(), 'interop.yaml');
  // "weather" by the allowed address; "blocked" is the same server under a name the allow-list does not have.
  writeFileSync(
    config,
    `a2aAgents:\n  weather:\n    url: http://127.0.0.1:${port}\n  blocked:\n    url: http://localhost:${port}\nallowPrivateNetworks: ["127.0.0.1"]\n`,
  );
  [gateway, caller] = await Promise.all([startSidecarProcess(reg, 'a2a-gw', { args: ['--interop-config', config] }), startSidecarProcess(reg, 'a2a-caller')]);
  asker = await caller.agent({ name: 'asker', registerTimeoutMs: 30_000 });
});

after(async () => {
  asker?.close();
  await Promise.all([gateway?.stop(), caller?.stop()]);
  await reg?.stop();
  external?.close();
});

test("the external A2A agent appears in the mesh as an A2A-backed agent with its card's skills", async () => {
  const token = await reg.token(reg.adminKey);
  const rec = await waitFor(
    async () =>
      ((await api(reg.url, 'GET', '/api/registry/agents', { token })).body as AgentRecord[]).find(
        (a) => a.agent_id === 'weather@a2a-gw' && a.health === 'active',
      ),
    'the weather agent',
    60_000,
  );
  assert.deepEqual(rec.capabilities.skills, ['weather.forecast']);
  assert.deepEqual(rec.capabilities.backed_by, { protocol: 'a2a', source: `http://127.0.0.1:${port}` });
});

test('a mesh agent calls it through delegate: streamed pieces in order, then the result', async () => {
  await waitFor(
    async () =>
      ((await api(reg.url, 'GET', '/api/registry/agents', { token: await reg.token(reg.adminKey) })).body as AgentRecord[]).some(
        (a) => a.agent_id === 'weather@a2a-gw' && a.health === 'active',
      ),
    'the weather agent',
    60_000,
  );
  // Pieces travel over the DataChannel (the queue tier carries only the result): wait for the link.
  await waitFor(async () => (await asker.listPeers()).includes('a2a-gw'), 'a link to the gateway', 30_000);
  const pieces: string[] = [];
  const r = (await asker.task(
    'delegate',
    { skill: 'weather.forecast', args: { text: 'Oslo' } },
    { timeoutMs: 30_000, onChunk: (m) => pieces.push(payloadOf(m, 'task_stream_chunk')?.text ?? '') },
  )) as { result: unknown; agent_id: string; tier: string };
  assert.equal(r.tier, 'direct');
  assert.equal(r.result, 'Sunny and mild in Oslo');
  assert.equal(r.agent_id, 'weather@a2a-gw');
  assert.deepEqual(pieces, ['Sunny ', 'and ', 'mild ', 'in Oslo']);
  assert.deepEqual(asked, ['Oslo'], 'the external server got the question once');
});

test('SSRF guard: the same server under a loopback name the allow-list does not name is refused', async () => {
  await waitFor(
    () => /blocked could not be mounted: .*127\.0\.0\.1|blocked could not be mounted: .*::1/.test(gateway.output()),
    'the refusal in the log',
    30_000,
  );
  assert.match(gateway.output(), /loopback or private address; refused \(SSRF guard\)\. If that is meant, add "localhost" to allowPrivateNetworks/);
  const agents = (await api(reg.url, 'GET', '/api/registry/agents', { token: await reg.token(reg.adminKey) })).body as AgentRecord[];
  assert.ok(!agents.some((a) => a.agent_id.startsWith('blocked@')));
});
