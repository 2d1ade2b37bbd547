/**
 * Finding 1 in a tab (real Chromium, real registry, real sidecar): the tab's agents check the
 * requester against the policy the tab holds, and the tab applies the registry's `policy` event at
 * once (it used to keep the old policy until its 10-minute config refresh).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, until, type WebStack } from '../web/helpers.ts';
import { startSidecarProcess, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';

let stack: WebStack;
let sidecar: SidecarProcess;
let caller: AgentClient;

before(async () => {
  stack = await startWebStack();
  sidecar = await startSidecarProcess(stack.registry, 'pt-caller');
  caller = await sidecar.agent({ name: 'caller' });
});
after(async () => {
  caller?.close();
  await sidecar?.stop();
  await stack?.close();
});

test('a tab refuses a skill call as soon as the registry publishes a policy that forbids it', async () => {
  const admin = new RegistryClient({ baseUrl: stack.registry.url, apiKey: stack.registry.adminKey });
  await admin.setPolicy({ default: 'allow', rules: [] });
  const tab = await openSignedIn(stack, stack.registry.adminKey);
  await tab.page.locator(`[data-testid=agent-row][data-agent="echo@${tab.peerId}"]`).waitFor({ timeout: 30_000 });
  await until('a link from the sidecar to the tab', async () => (await caller.listPeers()).includes(tab.peerId), 45_000, 250);
  const call = () => caller.task('upper', { text: 'hi' }, { peer: tab.peerId, agent: 'echo', timeoutMs: 5000 });
  assert.equal(await call(), 'HI');

  const t0 = Date.now();
  await admin.setPolicy({ default: 'allow', rules: [{ skill: 'upper', peers: ['someone-else'] }] });
  const ms = await until(
    'the tab to refuse the call',
    async () => {
      const err = await call().then(
        () => undefined,
        (e: Error) => e.message,
      );
      return err?.startsWith('forbidden') ? Date.now() - t0 : undefined;
    },
    20_000,
    100,
  );
  console.log(`# policy change applied by the tab after ${ms} ms`);
  assert.ok(ms < 3000, `the tab applied the policy after ${ms} ms`);
  await assert.rejects(call(), /forbidden: skill upper is restricted by rule 0 \(upper\) and pt-caller/);
  assert.deepEqual(tab.errors, []);
  await tab.context.close();
});
