/**
 * Task objects on a real registry process (findings 1-3 of the security review, docs/trust.md):
 * the submit-side policy check whichever field names the skill, who may move a task, and who
 * may read it (REST and the `tasks` events).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, TestEventStream, waitFor } from './test-support.ts';

let r: RegistryProcess;
let admin: string;
let a: string; // submitter
let b: string; // worker with the skill
let c: string; // another ordinary peer

before(async () => {
  r = await startRegistry();
  admin = await r.token(r.adminKey);
  a = await r.token(await r.issueApiKey('ta-a'));
  b = await r.token(await r.issueApiKey('ta-b'));
  c = await r.token(await r.issueApiKey('ta-c'));
});
after(async () => r?.stop());

const submit = (tok: string, body: object) => api(r.url, 'POST', '/api/hub/tasks', { token: tok, body: { ttl: 600, ...body } });
const update = (tok: string, id: string, body: object) => api(r.url, 'POST', `/api/hub/tasks/${id}`, { token: tok, body });

test('finding 1: the policy is checked on submit whichever field names the skill', async () => {
  const put = await api(r.url, 'PUT', '/api/policy', { token: admin, body: { default: 'allow', rules: [{ skill: 'upper', peers: ['ta-a'] }] } });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  try {
    // Peer C names the skill only inside the payload, as the Rust/Python agents do.
    const viaPayload = await submit(c, { target_agent_id: 'upper@ta-b', payload: { skill: 'upper', text: 'x' } });
    assert.equal(viaPayload.status, 403, JSON.stringify(viaPayload.body));
    assert.equal(viaPayload.body.error.code, 'skill_forbidden');
    assert.equal((await submit(c, { skill: 'upper', payload: {} })).status, 403);
    assert.equal((await submit(c, { skill: 'lower', payload: { skill: 'upper' } })).status, 403, 'both fields are checked');
    assert.equal((await submit(a, { target_agent_id: 'upper@ta-b', payload: { skill: 'upper' } })).status, 201, 'the allowed peer still may');
  } finally {
    await api(r.url, 'PUT', '/api/policy', { token: admin, body: { default: 'allow', rules: [] } });
  }
});

test('finding 2: only the current holder completes or fails a task; nobody writes assigned', async () => {
  const { task_id } = (await submit(a, { skill: 'resize2', payload: { w: 1 } })).body;
  // An unclaimed skill task: another peer can neither complete, fail nor park it.
  for (const state of ['completed', 'failed', 'assigned']) {
    const res = await update(c, task_id, { state, result: 'forged' });
    assert.ok(res.status === 404 || res.status === 403, `${state} by a stranger: ${res.status}`);
  }
  // The submitter may not write assigned or completed either (it may cancel, below).
  assert.equal((await update(a, task_id, { state: 'assigned' })).status, 403);
  assert.equal((await update(a, task_id, { state: 'completed', result: 'self-made' })).status, 403);
  assert.equal((await api(r.url, 'GET', `/api/hub/tasks/${task_id}`, { token: a })).body.state, 'pending');
  // The claim path makes B the holder; then only B completes it.
  const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { token: b, body: { agent_id: 'w@ta-b', skill_names: ['resize2'] } });
  assert.deepEqual(
    hb.body.pending_tasks.map((t: { id: string }) => t.id),
    [task_id],
  );
  assert.equal((await update(c, task_id, { state: 'completed', result: 'forged' })).status, 404);
  assert.equal((await update(a, task_id, { state: 'completed', result: 'forged' })).status, 403);
  assert.equal((await update(admin, task_id, { state: 'completed', result: 'forged' })).status, 403, 'not even an admin completes it');
  const done = await update(b, task_id, { state: 'completed', result: { ok: 1 } });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.deepEqual((await api(r.url, 'GET', `/api/hub/tasks/${task_id}`, { token: a })).body.result, { ok: 1 });
  // The submitter cancels a pending one (failed), an admin too.
  const t2 = (await submit(a, { skill: 'nobody-has', payload: {} })).body.task_id;
  assert.equal((await update(a, t2, { state: 'failed', error: 'cancelled' })).status, 200);
  const t3 = (await submit(a, { skill: 'nobody-has', payload: {} })).body.task_id;
  assert.equal((await update(admin, t3, { state: 'failed', error: 'cancelled by admin' })).status, 200);
});

test('finding 3: a task is visible to its submitter, its holder and admins only (REST and events)', async () => {
  const evC = await TestEventStream.open(r.url, c);
  const evB = await TestEventStream.open(r.url, b);
  const evAdmin = await TestEventStream.open(r.url, admin);
  await waitFor('snapshots', () => evC.events().length >= 2 && evB.events().length >= 2 && evAdmin.events().length >= 2);
  const secret = { card: '4111-secret' };
  const { task_id } = (await submit(a, { skill: 'vis-skill', payload: secret })).body;
  const aimedAtC = (await submit(a, { target_agent_id: 'x@ta-c', payload: secret })).body.task_id;
  const aimedAtB = (await submit(a, { target_agent_id: 'x@ta-b', payload: secret })).body.task_id;
  // REST: C does not see it, in the list or by id; A, B (once it holds it) and the admin do.
  assert.equal((await api(r.url, 'GET', `/api/hub/tasks/${task_id}`, { token: c })).status, 404);
  const listC = (await api(r.url, 'GET', '/api/hub/tasks/all', { token: c })).body as { id: string }[];
  assert.ok(!listC.some((t) => [task_id, aimedAtC, aimedAtB].includes(t.id)), 'C lists none of them');
  assert.ok((await api(r.url, 'GET', '/api/hub/tasks/all', { token: a })).body.some((t: { id: string }) => t.id === task_id));
  assert.ok((await api(r.url, 'GET', '/api/hub/tasks/all', { token: admin })).body.some((t: { id: string }) => t.id === task_id));
  await api(r.url, 'POST', '/api/hub/heartbeat', { token: b, body: { agent_id: 'v@ta-b', skill_names: ['vis-skill'] } });
  assert.deepEqual((await api(r.url, 'GET', `/api/hub/tasks/${task_id}`, { token: b })).body.payload, secret, 'the holder reads it');
  await update(b, task_id, { state: 'completed', result: 'the answer' });
  // Events: the admin gets every event whole; B gets the task it holds whole; C only announcements
  // of pending tasks it could claim, without payload; nobody else's results.
  await waitFor('admin sees completion', () => evAdmin.events().some((e) => e.type === 'tasks' && e.data.id === task_id && e.data.state === 'completed'));
  await waitFor('B sees completion', () => evB.events().some((e) => e.type === 'tasks' && e.data.id === task_id && e.data.state === 'completed'));
  await new Promise((res) => setTimeout(res, 300));
  const cTasks = evC
    .events()
    .filter((e) => e.type === 'tasks')
    .map((e) => e.data);
  assert.ok(!JSON.stringify(cTasks).includes('4111-secret'), `C saw a payload: ${JSON.stringify(cTasks)}`);
  assert.ok(!JSON.stringify(cTasks).includes('the answer'), 'C saw a result');
  assert.ok(
    cTasks.some((t) => t.id === aimedAtC && t.state === 'pending'),
    'C is told about a pending task aimed at its agent',
  );
  assert.ok(!cTasks.some((t) => t.id === aimedAtB), 'C hears nothing of a task aimed at B');
  assert.ok(!cTasks.some((t) => t.id === task_id && t.state !== 'pending'), 'nor of the skill task once claimed');
  for (const s of [evC, evB, evAdmin]) s.close();
});
