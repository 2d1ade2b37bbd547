// Tasks survive crashes: the registry's HTTP task queue (the third delivery tier) keeps queued and
// assigned tasks across `kill -9`; an agent that dies holding a task loses it when its lease runs
// out (re-queued for another agent with the skill, or failed at once if it has an idempotency key,
// or after 3 dead holders), and an idempotency key keeps a retried submission from running twice. The worker here is a
// REST agent (as the Python agents of chatixia-mesh are): heartbeat → pending_tasks → update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import type { Task } from '../../mesh/protocol/index.ts';

const LEASE_S = 2;
const TTL_S = 60;

let reg: RegistryProcess;
let submitter: RegistryClient;
let workerA: RegistryClient;
let workerB: RegistryClient;
let leaseReg: RegistryProcess;
let lSubmitter: RegistryClient;
let lA: RegistryClient;
let lB: RegistryClient;

before(async () => {
  [reg, leaseReg] = await Promise.all([startRegistry(), startRegistry({ env: { TASK_LEASE_S: String(LEASE_S) } })]);
  const mk = async (peer: string) => new RegistryClient({ baseUrl: reg.url, apiKey: await reg.issueApiKey(peer) });
  submitter = await mk('fault-submitter');
  workerA = await mk('fault-worker-a');
  workerB = await mk('fault-worker-b');
  await leaseClients();
});
after(async () => {
  await Promise.all([reg?.stop(), leaseReg?.stop()]);
});

/** One heartbeat of a worker agent offering `skills`; answers the tasks it was handed. */
async function claim(w: RegistryClient, agentId: string, skills: string[]): Promise<Task[]> {
  return (await w.heartbeat({ agent_id: agentId, skill_names: skills, status: 'active' })).pending_tasks;
}

async function waitTerminal(id: string, timeoutMs: number): Promise<Task> {
  return waitTerminalOn(submitter, id, timeoutMs);
}

async function waitTerminalOn(client: RegistryClient, id: string, timeoutMs: number): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await client.getTask(id);
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
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    'no task was handed out twice',
  );
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
  assert.deepEqual(
    handed.map((t) => t.id),
    [task_id],
  );
  await reg.kill();
  await reg.restart();
  assert.equal((await submitter.getTask(task_id)).state, 'assigned');
  await workerA.updateTask(task_id, { state: 'completed', result: 'yes' });
  const t = await waitTerminal(task_id, 5000);
  assert.equal(t.state, 'completed');
  assert.equal(t.result, 'yes');
});

// ── leases: an assigned task stays with its agent only while that agent keeps heartbeating ──
// `leaseReg` is a registry of its own with a 2 s lease (TASK_LEASE_S); the tasks' TTL (60 s) is far
// away, so everything below happens because of the lease, not the TTL.

async function leaseClients(): Promise<void> {
  const mk = async (peer: string) => new RegistryClient({ baseUrl: leaseReg.url, apiKey: await leaseReg.issueApiKey(peer) });
  lSubmitter = await mk('lease-submitter');
  lA = await mk('lease-worker-a');
  lB = await mk('lease-worker-b');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Heartbeats of `agentId` every 250 ms until it is handed `taskId` (or the deadline passes). */
async function claimWhenQueued(w: RegistryClient, agentId: string, skills: string[], taskId: string, timeoutMs: number): Promise<{ task: Task; at: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = (await claim(w, agentId, skills)).find((t) => t.id === taskId);
    if (got) return { task: got, at: Date.now() };
    if (Date.now() > deadline)
      throw new Error(`${agentId} was not handed ${taskId} within ${timeoutMs} ms (task is ${(await lSubmitter.getTask(taskId)).state})`);
    await sleep(250);
  }
}

const lostHolder = (e: unknown) => (e as { status?: number }).status === 409 && (e as { code?: string }).code === 'lease_lost';

test("lease: an agent that dies holding a task (no key) — another agent with the skill gets it after the lease and completes it; the dead one's late update is refused", async () => {
  const skill = 'lease-retry';
  const events: Task[] = [];
  const stop = new AbortController();
  const watching = lSubmitter
    .events((e) => {
      if (e.type === 'tasks') events.push(e.data as Task);
    }, stop.signal)
    .catch(() => undefined);
  const { task_id } = await lSubmitter.submitTask({ skill, payload: { job: 1 }, ttl: TTL_S });
  const handed = await claim(lA, 'lease-agent-a', [skill]);
  const claimedAt = Date.now();
  assert.deepEqual(
    handed.map((t) => t.id),
    [task_id],
  );
  assert.equal(handed[0]!.attempts, 1);
  // agent A dies now: no heartbeat, no answer. B offers the same skill and heartbeats all along.
  assert.deepEqual(
    (await claim(lB, 'lease-agent-b', [skill])).map((t) => t.id),
    [],
    "not re-assigned while A's lease runs",
  );
  const { task: onB, at } = await claimWhenQueued(lB, 'lease-agent-b', [skill], task_id, 15_000);
  assert.ok(at - claimedAt >= (LEASE_S - 0.5) * 1000, `re-assigned only after the lease (${at - claimedAt} ms after A's claim)`);
  assert.ok(at - claimedAt < (TTL_S * 1000) / 2, 'long before the TTL');
  assert.equal(onB.assigned_agent_id, 'lease-agent-b');
  assert.equal(onB.attempts, 2);
  assert.deepEqual(onB.payload, { job: 1 });
  // A's late answer while B holds it: refused, nothing changes, B's answer is then accepted
  await assert.rejects(lA.updateTask(task_id, { state: 'completed', result: 'late from a' }), lostHolder);
  const mid = await lSubmitter.getTask(task_id);
  assert.equal(mid.state, 'assigned');
  assert.equal(mid.assigned_agent_id, 'lease-agent-b');
  assert.equal(mid.result, '');
  await lB.updateTask(task_id, { state: 'completed', result: 'done by b' });
  const t = await lSubmitter.getTask(task_id);
  assert.equal(t.state, 'completed');
  assert.equal(t.result, 'done by b');
  assert.equal(t.attempts, 2);
  // ... and after B completed it, too
  await assert.rejects(lA.updateTask(task_id, { state: 'failed', error: 'late from a' }), lostHolder);
  await assert.rejects(lA.updateTask(task_id, { state: 'completed', result: 'late from a' }), lostHolder);
  assert.deepEqual(await lSubmitter.getTask(task_id), t, 'the outcome is unchanged');
  // the re-queue was published like every other task change (SSE here; the Redis bus alike)
  await sleep(300);
  stop.abort();
  await watching;
  const mine = events.filter((e) => e.id === task_id).map((e) => `${e.state}:${e.assigned_agent_id}`);
  assert.deepEqual(mine, ['pending:', 'assigned:lease-agent-a', 'pending:', 'assigned:lease-agent-b', 'completed:lease-agent-b']);
});

test("lease: with an idempotency key a dead holder's task is not retried — failed soon after the lease, with a clear error", async () => {
  const skill = 'lease-once';
  const { task_id } = await lSubmitter.submitTask({ skill, payload: { amount: 5 }, ttl: TTL_S, idempotency_key: `charge-${Date.now()}` });
  assert.deepEqual(
    (await claim(lA, 'lease-agent-a', [skill])).map((t) => t.id),
    [task_id],
  );
  const claimedAt = Date.now();
  let onB = 0;
  let t = await lSubmitter.getTask(task_id);
  while (t.state !== 'failed' && t.state !== 'completed' && Date.now() - claimedAt < 15_000) {
    onB += (await claim(lB, 'lease-agent-b', [skill])).filter((x) => x.id === task_id).length;
    await sleep(250);
    t = await lSubmitter.getTask(task_id);
  }
  assert.equal(t.state, 'failed', `failed, not ${t.state}`);
  const took = Date.now() - claimedAt;
  assert.ok(took >= (LEASE_S - 0.5) * 1000 && took < 15_000, `failed after the lease and well before the ${TTL_S} s TTL (${took} ms)`);
  assert.equal(onB, 0, 'B never got it');
  assert.match(t.error, /agent lease-agent-a stopped heartbeating while holding it; not retried because it has an idempotency key/);
  assert.match(t.error, /submit again with a new key to retry/);
  assert.equal(t.attempts, 1);
  assert.deepEqual(await claim(lB, 'lease-agent-b', [skill]), []);
  await assert.rejects(lA.updateTask(task_id, { state: 'completed', result: 'paid' }), lostHolder);
  assert.equal((await lSubmitter.getTask(task_id)).state, 'failed');
});

test('lease: a holder that keeps heartbeating keeps its task well past the lease (live work is never re-assigned)', async () => {
  const skill = 'lease-slow';
  const { task_id } = await lSubmitter.submitTask({ skill, payload: {}, ttl: TTL_S });
  assert.deepEqual(
    (await claim(lA, 'lease-agent-a', [skill])).map((t) => t.id),
    [task_id],
  );
  const until = Date.now() + LEASE_S * 3 * 1000;
  while (Date.now() < until) {
    assert.deepEqual(await claim(lA, 'lease-agent-a', [skill]), [], 'A renews its lease, nothing new');
    assert.deepEqual(await claim(lB, 'lease-agent-b', [skill]), [], 'B never gets live work');
    const t = await lSubmitter.getTask(task_id);
    assert.equal(t.state, 'assigned');
    assert.equal(t.assigned_agent_id, 'lease-agent-a');
    await sleep(500);
  }
  await lA.updateTask(task_id, { state: 'completed', result: 'slow but done' });
  const t = await lSubmitter.getTask(task_id);
  assert.equal(t.state, 'completed');
  assert.equal(t.result, 'slow but done');
  assert.equal(t.attempts, 1);
});

test('lease: after 3 holders died the task fails, naming them and how often it was tried', async () => {
  const skill = 'lease-cursed';
  const { task_id } = await lSubmitter.submitTask({ skill, payload: {}, ttl: TTL_S });
  const holders: [RegistryClient, string][] = [
    [lA, 'dead-1'],
    [lB, 'dead-2'],
    [lA, 'dead-3'],
  ];
  let prev = 0;
  for (const [w, id] of holders) {
    const { task, at } = await claimWhenQueued(w, id, [skill], task_id, 15_000);
    assert.equal(task.assigned_agent_id, id);
    if (prev) assert.ok(at - prev >= (LEASE_S - 0.5) * 1000, `${id} got it only after the previous holder's lease`);
    prev = at;
    // ... and dies: never heartbeats again
  }
  const t = await waitTerminalOn(lSubmitter, task_id, 15_000);
  assert.equal(t.state, 'failed');
  assert.equal(t.attempts, 3);
  assert.match(t.error, /the agents holding it stopped heartbeating \(dead-1, dead-2, dead-3\); tried 3 times/);
  assert.deepEqual(await claim(lB, 'lease-agent-b', [skill]), [], 'not handed out a fourth time');
  await assert.rejects(lB.updateTask(task_id, { state: 'completed', result: 'late' }), lostHolder);
});

test("lease: the lease lives in the database — a dead holder's task is still re-queued after kill -9 of the registry", async () => {
  const skill = 'lease-crash';
  const { task_id } = await lSubmitter.submitTask({ skill, payload: {}, ttl: TTL_S });
  assert.deepEqual(
    (await claim(lA, 'lease-agent-a', [skill])).map((t) => t.id),
    [task_id],
  );
  await leaseReg.kill();
  await leaseReg.restart();
  assert.equal((await lSubmitter.getTask(task_id)).assigned_agent_id, 'lease-agent-a', 'still held after the restart');
  // A never comes back; B gets it after the lease (the registry gives held tasks one fresh lease
  // at start, since nobody could heartbeat while it was down), long before the TTL.
  const { task } = await claimWhenQueued(lB, 'lease-agent-b', [skill], task_id, 20_000);
  assert.equal(task.attempts, 2);
  await lB.updateTask(task_id, { state: 'completed', result: 'after the crash' });
  assert.equal((await lSubmitter.getTask(task_id)).state, 'completed');
  await assert.rejects(lA.updateTask(task_id, { state: 'completed', result: 'late' }), lostHolder);
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
    for (const t of [...(await claim(workerA, 'fault-agent-a', [skill])), ...(await claim(workerB, 'fault-agent-b', [skill]))]) {
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
