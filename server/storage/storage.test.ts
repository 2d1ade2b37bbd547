import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, withUser, type Db } from './db.ts';
import { AgentStore } from './agents.ts';
import { TaskStore } from './tasks.ts';
import { KeyStore } from './keys.ts';
import { LinkStore } from './links.ts';
import { AuditLog } from './audit.ts';

/** The same store tests run on the embedded PGlite and on the machine's PostgreSQL (own schema, dropped after). */
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';

interface Backend {
  name: string;
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

const dirs: string[] = [];
const schema = `chatixia_test_${process.pid}_${randomBytes(3).toString('hex')}`;
const backends: Backend[] = [
  {
    name: 'pglite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'store-'));
      dirs.push(dir);
      return openDb({ dataDir: dir });
    },
    cleanup: async () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
  },
  {
    name: 'postgres',
    open: () => openDb({ dataDir: '/nonexistent', databaseUrl: PG_URL, schema }),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: withUser(PG_URL) });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  },
];

for (const b of backends) {
  describe(`storage on ${b.name}`, () => {
    let db: Db;
    after(async () => {
      await db?.close();
      await b.cleanup();
    });

    test('opens, migrates twice without harm, and reports its kind', async () => {
      db = await b.open();
      assert.equal(db.kind, b.name);
      // A second open of the same store re-runs the idempotent schema.
      if (b.name === 'postgres') {
        const again = await b.open();
        await again.close();
      }
      const v = await db.query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
      assert.equal(v[0]?.value, '1');
    });

    test('agents: upsert keeps the owner, health follows time, route picks least recently routed', async () => {
      const agents = new AgentStore(db, { staleS: 10, offlineS: 30 });
      const info = (id: string, skills: string[]) => ({ agent_id: id, hostname: 'h', ip: '', port: 8000, sidecar_peer_id: 'p1', capabilities: { skills, mcp_servers: [], goals_count: 0, mode: '' }, status: '', mode: '' });
      await agents.upsert(info('a1', ['s']), 'p1', 'owner-1', 1000);
      await agents.upsert(info('a1', ['s', 't']), 'p1', 'owner-2', 1001);
      await agents.upsert(info('a2', ['s']), 'p2', 'owner-2', 1001);
      const a1 = await agents.get('a1', 1005);
      assert.equal(a1?.owner, 'owner-1');
      assert.deepEqual(a1?.record.capabilities.skills, ['s', 't']);
      assert.equal(a1?.record.health, 'active');
      assert.equal((await agents.get('a1', 1020))?.record.health, 'stale');
      assert.equal((await agents.get('a1', 1040))?.record.health, 'offline');
      const first = (await agents.route('s', 1002))!.record.agent_id;
      const second = (await agents.route('s', 1003))!.record.agent_id;
      assert.notEqual(first, second);
      assert.equal(await agents.route('s', 1500), undefined, 'nobody active that late');
      assert.equal(await agents.route('zzz', 1002), undefined);
      assert.equal((await agents.list(1002)).length, 2);
      assert.ok(await agents.delete('a2'));
      assert.ok(!(await agents.delete('a2')));
    });

    test('tasks: idempotent submit, claim once, update guarded by state, TTL expiry', async () => {
      const tasks = new TaskStore(db);
      const t = { skill: 'sk', target_agent_id: '', source_agent_id: 'src', payload: { n: 1 }, ttl: 50 };
      const a = await tasks.submit({ ...t, idempotency_key: 'k1' }, 'me', 2000);
      const again = await tasks.submit({ ...t, idempotency_key: 'k1' }, 'me', 2001);
      assert.ok(a.created && !again.created);
      assert.equal(again.stored.task.id, a.stored.task.id);
      const other = await tasks.submit({ ...t, idempotency_key: 'k1' }, 'someone-else', 2001);
      assert.ok(other.created, 'keys are per caller');
      const claimed = await tasks.claimFor('w1', ['sk'], 2002);
      assert.equal(claimed.length, 2);
      assert.ok(claimed.every((c) => c.state === 'assigned' && c.assigned_agent_id === 'w1'));
      assert.equal((await tasks.claimFor('w2', ['sk'], 2003)).length, 0);
      const done = await tasks.update(a.stored.task.id, ['assigned'], 'completed', { ok: true }, undefined, 2004);
      assert.deepEqual(done?.task.result, { ok: true });
      assert.equal(await tasks.update(a.stored.task.id, ['assigned'], 'failed', undefined, 'x', 2005), undefined);
      const expired = await tasks.expire(2100);
      assert.deepEqual(expired.map((e) => e.id), [other.stored.task.id]);
      assert.equal((await tasks.get(other.stored.task.id))?.task.error, 'TTL expired');
      assert.equal((await tasks.list(10, 'completed')).length, 1);
      // A string result (Python agents) comes back as a string.
      const s = await tasks.submit({ ...t, target_agent_id: 'w9' }, 'me', 3000);
      await tasks.update(s.stored.task.id, ['pending'], 'completed', 'plain text', undefined, 3001);
      assert.equal((await tasks.get(s.stored.task.id))?.task.result, 'plain text');
    });

    test('keys, links and the audit log', async () => {
      const keys = new KeyStore(db);
      await keys.add('hash-1', 'kp', 'agent', 1);
      await keys.add('hash-2', 'kp', 'agent', 2);
      assert.equal((await keys.find('hash-1'))?.peer_id, 'kp');
      assert.ok(await keys.hasPeer('kp'));
      assert.equal(await keys.deleteByPeer('kp'), 2);
      assert.equal(await keys.find('hash-2'), undefined);
      const links = new LinkStore(db);
      await links.replace('x', [{ peer_id: 'y', path: 'host', rtt_ms: 2 }, { peer_id: 'x', path: 'host' }], 10);
      await links.replace('y', [{ peer_id: 'x', path: 'srflx' }], 11);
      const edges = await links.edges(0);
      assert.equal(edges.length, 1, 'one edge per pair');
      assert.equal(edges[0]!.path, 'srflx', 'freshest report wins');
      assert.equal((await links.edges(100)).length, 0);
      const audit = new AuditLog(db);
      const e1 = await audit.append('admin', 'key.create', 'kp', { role: 'agent' }, 5);
      const e2 = await audit.append('admin', 'key.delete', 'kp', {}, 6);
      assert.ok(e2.id > e1.id);
      const list = await audit.list(10);
      assert.deepEqual(list.slice(0, 2).map((e) => e.action), ['key.delete', 'key.create']);
      assert.deepEqual(list[1]!.detail, { role: 'agent' });
      assert.deepEqual((await audit.list(10, e2.id)).map((e) => e.id), [e1.id]);
      // Append-only, enforced by the database itself.
      await assert.rejects(db.query('DELETE FROM audit'), /append-only/);
      await assert.rejects(db.query("UPDATE audit SET action = 'x'"), /append-only/);
    });
  });
}
