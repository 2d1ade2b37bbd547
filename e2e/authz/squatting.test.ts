/**
 * Finding 4 with a real registry and a real sidecar: agent ids belong to the peer they name
 * (`name@peer`, or the peer's own record `peer`), so another peer can neither register nor
 * heartbeat B's agent id and take B's tasks; and with a `providers` rule in the policy, a peer
 * that merely advertises a skill is not handed its tasks and does not win `route?skill=`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { api } from '../../server/test-support.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { upperSkill } from '../../mesh/test-support/upper-skill.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';

let r: RegistryProcess;
let b: SidecarProcess;
let upperAgent: AgentClient;
let e: string; // the squatter's token
let adminTok: string;

before(async () => {
  r = await startRegistry();
  adminTok = await r.token(r.adminKey);
  e = await r.token(await r.issueApiKey('sq-e'));
});
after(async () => {
  upperAgent?.close();
  await b?.stop();
  await r?.stop();
});

test("another peer cannot take B's agent id (name@B, or B itself) before or after B registers it", async () => {
  const keyB = await r.issueApiKey('sq-b');
  for (const agent_id of ['upper@sq-b', 'sq-b']) {
    const reg = await api(r.url, 'POST', '/api/registry/agents', { token: e, body: { agent_id, capabilities: { skills: ['upper'] } } });
    assert.equal(reg.status, 403, `${agent_id}: ${JSON.stringify(reg.body)}`);
    const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { token: e, body: { agent_id, skill_names: ['upper'] } });
    assert.equal(hb.status, 403, `${agent_id} heartbeat: ${JSON.stringify(hb.body)}`);
  }
  // E's own namespace works.
  assert.equal((await api(r.url, 'POST', '/api/hub/heartbeat', { token: e, body: { agent_id: 'upper@sq-e', skill_names: [] } })).status, 200);
  // B joins with its agent; a task aimed at B's agent reaches B, and E still cannot touch the record.
  b = await startSidecarProcess(r, 'sq-b', { apiKey: keyB });
  upperAgent = await b.agent({
    name: 'upper',
    skills: { upper: upperSkill() },
  });
  const requester = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('sq-req') });
  await waitFor(async () => (await requester.listAgents()).some((a) => a.agent_id === 'upper@sq-b' && a.peer_id === 'sq-b'), "B's record");
  const { task_id } = await requester.submitTask({ target_agent_id: 'upper@sq-b', skill: 'upper', payload: { text: 'mine' }, ttl: 60 });
  assert.equal((await api(r.url, 'POST', '/api/hub/heartbeat', { token: e, body: { agent_id: 'upper@sq-b', skill_names: ['upper'] } })).status, 403);
  const done = await requester.waitForTask(task_id, { intervalMs: 100 });
  assert.equal(done.state, 'completed');
  assert.equal(done.result, 'MINE');
  assert.equal(done.holder_peer_id, 'sq-b');
  assert.equal((await api(r.url, 'DELETE', '/api/registry/agents/upper@sq-b', { token: e })).status, 403);
});

test('with providers in the policy, advertising a skill wins neither route?skill= nor its tasks', async () => {
  assert.equal((await api(r.url, 'PUT', '/api/policy', { token: adminTok, body: { rules: [{ skill: 'upper', providers: ['sq-b'] }] } })).status, 200);
  try {
    const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { token: e, body: { agent_id: 'fake@sq-e', skill_names: ['upper', 'other'] } });
    assert.equal(hb.status, 200);
    assert.deepEqual(hb.body.refused_skills, ['upper']);
    const rec = await api(r.url, 'GET', '/api/registry/agents/fake@sq-e', { token: e });
    assert.deepEqual(rec.body.capabilities.skills, ['other']);
    for (let i = 0; i < 4; i++) {
      const route = await api(r.url, 'GET', '/api/registry/route?skill=upper', { token: e });
      assert.equal(route.body.peer_id, 'sq-b', `route ${i}: ${JSON.stringify(route.body)}`);
    }
    const requester = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('sq-req2') });
    const { task_id } = await requester.submitTask({ skill: 'upper', payload: { text: 'skill task' }, ttl: 60 });
    const stolen = await api(r.url, 'POST', '/api/hub/heartbeat', { token: e, body: { agent_id: 'fake@sq-e', skill_names: ['upper'] } });
    assert.ok(!stolen.body.pending_tasks.some((t: { id: string }) => t.id === task_id), 'the squatter is not handed the task');
    const done = await requester.waitForTask(task_id, { intervalMs: 100 });
    assert.equal(done.result, 'SKILL TASK');
  } finally {
    await api(r.url, 'PUT', '/api/policy', { token: adminTok, body: {} });
  }
});
