/**
 * The registry as a user meets it, from outside: only the documented surface (README, docs/registry.md: data dir, HTTP, WebSocket)
 * against the real registry process, including a restart. Runs on the embedded store and on
 * the machine's PostgreSQL (DATABASE_URL with a schema of its own, dropped after).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startRegistry } from './testing.ts';
import { api, registeredPeer } from './test-support.ts';
import { withUser } from './storage/db.ts';

const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';
const schema = `chatixia_dw_${process.pid}_${randomBytes(3).toString('hex')}`;

after(async () => {
  const c = new pg.Client({ connectionString: withUser(PG_URL) });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

for (const backend of ['pglite', 'postgres'] as const) {
  test(`done-when script on ${backend}: key from data dir → token → agents → route → task in heartbeat → restart → still there → forged offer refused → 401`, async () => {
    const r = await startRegistry({ env: backend === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : {} });
    try {
      assert.equal((await api(r.url, 'GET', '/healthz')).body.storage, backend);
      // 1. The admin key, read from the data dir as the README says.
      const adminKey = readFileSync(join(r.dataDir, 'admin.key'), 'utf8').trim();
      const admin = (await api(r.url, 'POST', '/api/token', { apiKey: adminKey })).body.token as string;
      assert.ok(admin);
      // 2. Two agents on two peers, each with its own key.
      const keyA = (await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'pi-kitchen', role: 'agent' } })).body.key as string;
      const keyB = (await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'vm-cloud', role: 'agent' } })).body.key as string;
      const tokA = (await api(r.url, 'POST', '/api/token', { apiKey: keyA })).body.token as string;
      const tokB = (await api(r.url, 'POST', '/api/token', { apiKey: keyB })).body.token as string;
      assert.equal(
        (await api(r.url, 'POST', '/api/registry/agents', { token: tokA, body: { agent_id: 'weather', capabilities: { skills: ['forecast'] } } })).status,
        200,
      );
      assert.equal(
        (await api(r.url, 'POST', '/api/registry/agents', { token: tokB, body: { agent_id: 'coder', capabilities: { skills: ['python'] } } })).status,
        200,
      );
      // 3. Routing a skill picks the right one.
      assert.equal((await api(r.url, 'GET', '/api/registry/route?skill=python', { token: tokA })).body.agent_id, 'coder');
      assert.equal((await api(r.url, 'GET', '/api/registry/route?skill=forecast', { token: tokB })).body.agent_id, 'weather');
      // 4. A task for a skill shows up in that agent's heartbeat answer.
      const taskId = (await api(r.url, 'POST', '/api/hub/tasks', { token: tokA, body: { skill: 'python', payload: { code: 'print(1)' }, ttl: 600 } })).body
        .task_id as string;
      const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { token: tokB, body: { agent_id: 'coder', skill_names: ['python'] } });
      assert.deepEqual(
        hb.body.pending_tasks.map((t: { id: string }) => t.id),
        [taskId],
      );
      const pendingId = (await api(r.url, 'POST', '/api/hub/tasks', { token: tokA, body: { skill: 'python', payload: {}, ttl: 600 } })).body.task_id as string;

      // 5. Restart: agents, tasks and keys are still there.
      await r.restart();
      const agents = (await api(r.url, 'GET', '/api/registry/agents', { apiKey: keyA })).body as { agent_id: string }[];
      assert.deepEqual(agents.map((a) => a.agent_id).sort(), ['coder', 'weather']);
      const task = (await api(r.url, 'GET', `/api/hub/tasks/${taskId}`, { apiKey: keyA })).body;
      assert.equal(task.state, 'assigned');
      assert.equal(task.assigned_agent_id, 'coder');
      const hb2 = await api(r.url, 'POST', '/api/hub/heartbeat', { apiKey: keyB, body: { agent_id: 'coder', skill_names: ['python'] } });
      assert.deepEqual(
        hb2.body.pending_tasks.map((t: { id: string }) => t.id),
        [pendingId],
        'the pending task survived too',
      );
      const tokA2 = (await api(r.url, 'POST', '/api/token', { apiKey: keyA })).body.token as string;
      const tokB2 = (await api(r.url, 'POST', '/api/token', { apiKey: keyB })).body.token as string;
      assert.ok(tokA2 && tokB2, 'keys survived');
      // A token from before the restart is still valid (the signing secret is in the data dir).
      assert.equal((await api(r.url, 'GET', '/api/registry/agents', { token: tokA })).status, 200);

      // 6. A relayed offer with a forged peer_id is refused.
      const a = await registeredPeer(r.wsUrl, tokA2, 'pi-kitchen');
      const b = await registeredPeer(r.wsUrl, tokB2, 'vm-cloud');
      b.sock.send({ type: 'offer', peer_id: 'someone-else', target_id: 'pi-kitchen', payload: { sdp: 'v=0 forged' } });
      assert.equal((await b.sock.next('error')).payload.code, 'forbidden');
      b.sock.send({ type: 'offer', peer_id: 'vm-cloud', target_id: 'pi-kitchen', payload: { sdp: 'v=0 real' } });
      assert.equal((await a.sock.next('offer')).payload.sdp, 'v=0 real');
      assert.ok(!a.sock.frames.some((f) => f.type === 'offer'), 'the forged offer never arrived');
      a.sock.close();
      b.sock.close();
      await Promise.all([a.sock.closed, b.sock.closed]);

      // 7. No token: 401.
      const anon = await api(r.url, 'GET', '/api/registry/agents');
      assert.equal(anon.status, 401);
      assert.equal(anon.body.error.code, 'unauthorized');
    } finally {
      await r.stop();
    }
  });
}
