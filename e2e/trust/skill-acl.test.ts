/**
 * The skill policy is enforced by the RECEIVING peer, with the caller identity its link proved
 * (not what the message claims): a restricted skill answers `forbidden` to a peer the policy does
 * not name and runs for the one it names. (The task queue's check is in server/pairing.test.ts.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry } from '../../server/testing.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';

const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

test('a restricted skill runs for the peer the policy names and is refused to another, by the receiving sidecar', async () => {
  const r = await startRegistry();
  cleanup.push(() => r.stop());
  const admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
  await admin.setPolicy({ default: 'allow', rules: [{ skill: 'vault.*', peers: ['acl-friend'] }] });
  const sc: SidecarProcess[] = await Promise.all(['acl-vault', 'acl-friend', 'acl-stranger'].map((id) => startSidecarProcess(r, id)));
  cleanup.push(async () => {
    for (const s of sc) await s.stop();
  });
  const [vault, friend, stranger] = sc as [SidecarProcess, SidecarProcess, SidecarProcess];
  const agents: AgentClient[] = [
    await vault.agent({ name: 'keeper', skills: { 'vault.read': () => 'the secret', 'open.echo': (x: { t: string }) => x.t } }),
    await friend.agent({ name: 'friend' }),
    await stranger.agent({ name: 'stranger' }),
  ];
  cleanup.push(() => {
    for (const a of agents) a.close();
  });
  const [, f, s] = agents as [AgentClient, AgentClient, AgentClient];
  const ask = (a: AgentClient, skill: string, args: unknown = {}) =>
    a.request('acl-vault', { type: 'task_request', payload: { skill, args } }, { timeoutMs: 10_000 });
  await waitFor(
    () => vault.output().includes('peer connected: acl-friend') && vault.output().includes('peer connected: acl-stranger'),
    'links to the vault',
    30_000,
  );

  assert.deepEqual((await ask(f, 'vault.read')).payload, { result: 'the secret' });
  const refused = (await ask(s, 'vault.read')).payload as { error?: string; result?: unknown };
  assert.equal(refused.result, undefined);
  assert.match(refused.error ?? '', /^forbidden: .*acl-stranger/);
  assert.deepEqual((await ask(s, 'open.echo', { t: 'hi' })).payload, { result: 'hi' });
});

test("a browser tab enforces the policy too: its worker agent's skill answers forbidden to a peer the policy does not name", async () => {
  const { startWebStack, openSignedIn } = await import('../web/helpers.ts');
  const stack = await startWebStack();
  cleanup.push(() => stack.close());
  const admin = new RegistryClient({ baseUrl: stack.registry.url, apiKey: stack.registry.adminKey });
  await admin.setPolicy({ default: 'allow', rules: [{ skill: 'upper', peers: ['acl-ok'] }] });
  const tab = await openSignedIn(stack, await stack.registry.issueApiKey('acl-tab'));
  const [ok, no] = await Promise.all([startSidecarProcess(stack.registry, 'acl-ok'), startSidecarProcess(stack.registry, 'acl-no')]);
  cleanup.push(async () => {
    await ok.stop();
    await no.stop();
  });
  const [okAgent, noAgent] = [await ok.agent({ name: 'ok' }), await no.agent({ name: 'no' })];
  cleanup.push(() => {
    okAgent.close();
    noAgent.close();
  });
  await waitFor(
    () => ok.output().includes(`peer connected: ${tab.peerId}`) && no.output().includes(`peer connected: ${tab.peerId}`),
    'links to the tab',
    40_000,
  );
  const ask = (a: AgentClient, skill: string) =>
    a.request(tab.peerId, { type: 'task_request', payload: { skill, args: { text: 'abc' } } }, { timeoutMs: 15_000 });
  // The tab's default echo worker agent has the skills echo and upper.
  assert.deepEqual((await ask(okAgent, 'upper')).payload, { result: 'ABC' });
  const refused = (await ask(noAgent, 'upper')).payload as { error?: string };
  assert.match(refused.error ?? '', /^forbidden: .*acl-no/);
  assert.ok(!('result' in (refused as object)));
  await tab.context.close();
});
