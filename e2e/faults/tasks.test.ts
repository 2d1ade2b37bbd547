// Tasks survive crashes: the registry's HTTP task queue (the third delivery tier) keeps queued and
// assigned tasks across `kill -9`, an agent that dies holding a task does not leave it hanging,
// and an idempotency key keeps a retried submission from running twice. The worker here is a
// REST agent (as the Python agents of chatixia-mesh are): heartbeat → pending_tasks → update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import type { Task } from '../../mesh/protocol/index.ts';

let reg: RegistryProcess;
let submitter: RegistryClient;
let workerA: RegistryClient;
let workerB: RegistryClient;

before(async () => {
  reg = await startRegistry();
  const mk = async (peer: string) => new RegistryClient({ baseUrl: reg.url, apiKey: await reg.issueApiKey(peer) });
  submitter = await mk('fault-submitter');
  workerA = await mk('fault-worker-a');
  workerB = await mk('fault-worker-b');
});
after(async () => { await reg?.stop(); });

/** One heartbeat of a worker agent offering `skills`; answers the tasks it was handed. */
async function claim(w: RegistryClient, agentId: string, skills: string[]): Promise<Task[]> {
  return (await w.heartbeat({ agent_id: agentId, skill_names: skills, status: 'active' })).pending_tasks;
}

async function waitTerminal(id: string, timeoutMs: number): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await submitter.getTask(id);
    if (t.state === 'completed' || t.state === 'failed') return t;
    if (Date.now() > deadline) throw new Error(`task ${id} still ${t.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('queued tasks survive kill -9 of the registry and complete after the restart', async () => {
  const skill = 'fault-echo-1';
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    ids.push((await submitter.submitTask({ skill, payload: { n: i } })).task_id);
  }
  // kill -9 right after the last answer: whatever was acknowledged must be on disk
  await reg.kill();
  await reg.restart();
  const seen = new Map<string, number>();
  const deadline = Date.now() + 20_000;
  while (seen.size < ids.length && Date.now() < deadline) {
    for (const t of await claim(workerA, 'fault-agent-a', [skill])) {
      seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
      await workerA.updateTask(t.id, { state: 'completed', result: { echo: t.payload } });
    }
  }
  assert.deepEqual([...seen.keys()].sort(), [...ids].sort(), 'every acknowledged task came back after kill -9');
  assert.ok([...seen.values()].every((n) => n === 1), 'no task was handed out twice');
  for (const [i, id] of ids.entries()) {
    const t = await submitter.getTask(id);
    assert.equal(t.state, 'completed');
    assert.deepEqual(t.result, { echo: { n: i } });
  }
});

test('an assigned task survives kill -9 and its result is accepted after the restart', async () => {
  const skill = 'fault-echo-2';
  const { task_id } = await submitter.submitTask({ skill, payload: { q: 'still there?' } });
  const handed = await claim(workerA, 'fault-agent-a', [skill]);
  assert.deepEqual(handed.map((t) => t.id), [task_id]);
  await reg.kill();
  await reg.restart();
  assert.equal((await submitter.getTask(task_id)).state, 'assigned');
  await workerA.updateTask(task_id, { state: 'completed', result: 'yes' });
  const t = await waitTerminal(task_id, 5000);
  assert.equal(t.state, 'completed');
  assert.equal(t.result, 'yes');
});

test('an agent that dies holding a task: retried elsewhere or failed clearly after its TTL, never hanging', async () => {
  const skill = 'fault-slow';
  const ttl = 3;
  const { task_id } = await submitter.submitTask({ skill, payload: {}, ttl });
  const handed = await claim(workerA, 'fault-agent-a', [skill]);
  assert.deepEqual(handed.map((t) => t.id), [task_id]);
  // agent A dies now (it never answers, never heartbeats again). Agent B offers the same skill.
  let retriedOnB = 0;
  const deadline = Date.now() + (ttl + 15) * 1000;
  let t = await submitter.getTask(task_id);
  while (t.state !== 'completed' && t.state !== 'failed' && Date.now() < deadline) {
    for (const x of await claim(workerB, 'fault-agent-b', [skill])) {
      if (x.id !== task_id) continue;
      retriedOnB++;
      await workerB.updateTask(x.id, { state: 'completed', result: 'done by b' });
    }
    await new Promise((r) => setTimeout(r, 300));
    t = await submitter.getTask(task_id);
  }
  assert.ok(t.state === 'completed' || t.state === 'failed', `task must not hang: still ${t.state} after TTL + 15 s`);
  if (t.state === 'completed') {
    assert.equal(retriedOnB, 1, 'retried once on the other agent');
    assert.equal(t.result, 'done by b');
  } else {
    assert.equal(retriedOnB, 0);
    assert.match(t.error, /TTL expired/, 'the failure names its cause');
  }
  // a late answer of the dead agent must not resurrect or overwrite the outcome
  await assert.rejects(workerA.updateTask(task_id, { state: 'completed', result: 'late' }));
  assert.equal((await submitter.getTask(task_id)).state, t.state);
});

test('an idempotency key: a retried submission (even across kill -9) runs the task once', async () => {
  const skill = 'fault-once';
  const key = `order-${Date.now()}`;
  const first = await submitter.submitTask({ skill, payload: { amount: 5 }, idempotency_key: key });
  // the caller did not see an answer (registry crashed) and retries
  await reg.kill();
  await reg.restart();
  const retry = await submitter.submitTask({ skill, payload: { amount: 5 }, idempotency_key: key });
  assert.equal(retry.task_id, first.task_id, 'the retry answers the first task');
  let executions = 0;
  for (let i = 0; i < 5; i++) {
    for (const t of [...await claim(workerA, 'fault-agent-a', [skill]), ...await claim(workerB, 'fault-agent-b', [skill])]) {
      executions++;
      await (t.assigned_agent_id === 'fault-agent-a' ? workerA : workerB).updateTask(t.id, { state: 'completed', result: 'paid' });
    }
  }
  assert.equal(executions, 1, 'executed exactly once');
  const again = await submitter.submitTask({ skill, payload: { amount: 5 }, idempotency_key: key });
  assert.equal(again.task_id, first.task_id);
  assert.equal((await submitter.getTask(first.task_id)).state, 'completed');
  assert.deepEqual(await claim(workerB, 'fault-agent-b', [skill]), [], 'nothing left to run');
});
