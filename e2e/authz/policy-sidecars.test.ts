/**
 * Finding 1 where the skill runs, with a real registry and real sidecars: the executing peer checks
 * the requester against the policy it holds before running anything — a task claimed from the
 * queue (submitted before the policy changed), a `task_request` over a DataChannel, and the
 * sidecar's built-in `delegate` called by a remote peer — and applies a policy change at once
 * (the registry's `policy` event), not at its next refresh.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { upperSkill } from '../../mesh/test-support/upper-skill.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';

let r: RegistryProcess;
let admin: RegistryClient;
const running: Array<{ stop(): Promise<unknown> } | { close(): void }> = [];
const upper = { upper: upperSkill() };

before(async () => {
  r = await startRegistry();
  admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
});
after(async () => {
  for (const x of running.reverse()) await ('stop' in x ? x.stop() : x.close());
  await r?.stop();
});

async function sidecar(id: string): Promise<SidecarProcess> {
  const s = await startSidecarProcess(r, id);
  running.push(s);
  return s;
}
async function agent(s: SidecarProcess, name: string, skills = {}): Promise<AgentClient> {
  const a = await s.agent({ name, skills });
  running.push(a);
  return a;
}
const onlyA = { default: 'allow' as const, rules: [{ skill: 'upper', peers: ['pol-a'] }] };
const allowAll = { default: 'allow' as const, rules: [] };

test('a queued task whose submitter lost the right is refused by the sidecar that claims it', async () => {
  await admin.setPolicy(allowAll);
  const c = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('pol-c') });
  const { task_id } = await c.submitTask({ target_agent_id: 'upper@pol-b', skill: 'upper', payload: { text: 'queued' }, ttl: 120 });
  await admin.setPolicy(onlyA);
  const b = await sidecar('pol-b');
  await agent(b, 'upper', upper);
  const done = await waitFor(
    async () => {
      const t = await c.getTask(task_id);
      return t.state === 'completed' || t.state === 'failed' ? t : undefined;
    },
    'the task to finish',
    30_000,
  );
  assert.equal(done.state, 'failed', `ran for a peer the policy refuses: ${JSON.stringify(done.result)}`);
  assert.match(done.error, /^forbidden: skill upper is restricted by rule 0/);
});

test('over a DataChannel: task_request and the built-in delegate are checked; a policy change applies at once', async () => {
  await admin.setPolicy(allowAll);
  const b = await sidecar('pol-b2');
  await agent(b, 'upper', upper);
  const cSide = await sidecar('pol-c2');
  const aSide = await sidecar('pol-a');
  const c = await agent(cSide, 'caller-c');
  const a = await agent(aSide, 'caller-a');
  await waitFor(async () => (await c.listPeers()).includes('pol-b2') && (await a.listPeers()).includes('pol-b2'), 'links to B', 30_000);
  assert.equal(await c.task('upper', { text: 'before' }, { peer: 'pol-b2', timeoutMs: 15_000 }), 'BEFORE');

  const rule = { default: 'allow' as const, rules: [{ skill: 'upper', peers: ['pol-a'] }] };
  const t0 = Date.now();
  await admin.setPolicy(rule);
  // The sidecar learns the policy from the registry's event stream (and on each config refresh): it must apply it at once.
  const refusedAfter = await waitFor(
    async () => {
      const err = await c.task('upper', { text: 'after' }, { peer: 'pol-b2', timeoutMs: 5000 }).then(
        () => undefined,
        (e: Error) => e.message,
      );
      return err?.startsWith('forbidden') ? Date.now() - t0 : undefined;
    },
    'B to refuse C',
    10_000,
  );
  console.log(`# policy change applied by the sidecar after ${refusedAfter} ms`);
  assert.ok(refusedAfter < 3000, `took ${refusedAfter} ms`);
  // The allowed peer still gets its answer.
  assert.equal(await a.task('upper', { text: 'a may' }, { peer: 'pol-b2', timeoutMs: 15_000 }), 'A MAY');
  // B's built-in delegate would run upper as B: called by C it must be refused as well.
  await assert.rejects(
    c.task('delegate', { skill: 'upper', args: { text: 'laundered' }, target_peer: 'pol-b2' }, { peer: 'pol-b2', timeoutMs: 15_000 }),
    /forbidden: skill upper is restricted/,
  );
  const viaA = (await a.task(
    'delegate',
    { skill: 'upper', args: { text: 'a via delegate' }, target_peer: 'pol-b2' },
    { peer: 'pol-b2', timeoutMs: 15_000 },
  )) as { result: unknown };
  assert.equal(viaA.result, 'A VIA DELEGATE');
  // mesh_send would make B send as itself: only B's own agents may use it.
  await assert.rejects(
    c.task('mesh_send', { target_peer: 'pol-a', message: { type: 'ping' } }, { peer: 'pol-b2', timeoutMs: 15_000 }),
    /serves only its own agents/,
  );
  await admin.setPolicy(allowAll);
});
