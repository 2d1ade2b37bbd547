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
import { schemaStatements } from './schema.ts';
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

    test('agents: upsert stores the owner the route decided, health follows time, route picks least recently routed', async () => {
      const agents = new AgentStore(db, { staleS: 10, offlineS: 30 });
      const info = (id: string, skills: string[]) => ({
        agent_id: id,
        hostname: 'h',
        ip: '',
        port: 8000,
        sidecar_peer_id: 'p1',
        capabilities: { skills, mcp_servers: [], goals_count: 0, mode: '' },
        status: '',
        mode: '',
      });
      await agents.upsert(info('a1', ['s']), 'p1', 'owner-1', 1000);
      await agents.upsert(info('a1', ['s', 't']), 'p1', 'owner-2', 1001);
      await agents.upsert(info('a2', ['s']), 'p2', 'owner-2', 1001);
      const a1 = await agents.get('a1', 1005);
      // Who may take an id over is decided by the route (ownAgentId, docs/trust.md); the store records it.
      assert.equal(a1?.owner, 'owner-2');
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
      assert.deepEqual(
        expired.map((e) => e.id),
        [other.stored.task.id],
      );
      assert.equal((await tasks.get(other.stored.task.id))?.task.error, 'TTL expired');
      assert.equal((await tasks.list(10, 'completed')).length, 1);
      // A string result (Python agents) comes back as a string.
      const s = await tasks.submit({ ...t, target_agent_id: 'w9' }, 'me', 3000);
      await tasks.update(s.stored.task.id, ['pending'], 'completed', 'plain text', undefined, 3001);
      assert.equal((await tasks.get(s.stored.task.id))?.task.result, 'plain text');
    });

    test("tasks: a lease renewed by heartbeats; a dead holder's task re-queued, failed with a key, failed after max attempts", async () => {
      const tasks = new TaskStore(db);
      const base = { target_agent_id: '', source_agent_id: 'src', payload: {}, ttl: 1000 };
      const plain = (await tasks.submit({ ...base, skill: 'lease-1' }, 'me', 10_000)).stored.task.id;
      const keyed = (await tasks.submit({ ...base, skill: 'lease-2', idempotency_key: 'pay-1' }, 'me', 10_000)).stored.task.id;
      const [c1] = await tasks.claimFor('w1', ['lease-1'], 10_001, 10, 'peer-1');
      assert.equal(c1?.id, plain);
      assert.equal(c1?.attempts, 1);
      assert.equal((await tasks.get(plain))?.leaseUntil, 10_011);
      assert.equal((await tasks.get(plain))?.holderPeer, 'peer-1');
      // a heartbeat of the holder renews its lease (and claims nothing new)
      assert.deepEqual(await tasks.claimFor('w1', ['lease-1'], 10_008, 10, 'peer-1'), []);
      assert.equal((await tasks.get(plain))?.leaseUntil, 10_018);
      assert.deepEqual(await tasks.expire(10_012), [], 'a renewed lease holds');
      await tasks.claimFor('w2', ['lease-2'], 10_009, 10, 'peer-2');
      // both leases run out: the plain task goes back to the queue, the keyed one fails at once
      const swept = await tasks.expire(10_020);
      assert.deepEqual(swept.map((t) => t.id).sort(), [plain, keyed].sort());
      const p1 = (await tasks.get(plain))!;
      assert.equal(p1.task.state, 'pending');
      assert.equal(p1.task.assigned_agent_id, '');
      assert.equal(p1.task.attempts, 1);
      assert.equal(p1.leaseUntil, null);
      assert.deepEqual(p1.formerHolders, [{ agent_id: 'w1', peer_id: 'peer-1' }]);
      const k1 = (await tasks.get(keyed))!;
      assert.equal(k1.task.state, 'failed');
      assert.match(k1.task.error, /agent w2 stopped heartbeating while holding it; not retried because it has an idempotency key.*submit again with a new key/);
      assert.deepEqual(await tasks.claimFor('w3', ['lease-2'], 10_021, 10), [], 'a keyed task is never handed out again');
      // a late update from the lost holder, guarded by the hand-out count, changes nothing
      const [c2] = await tasks.claimFor('w3', ['lease-1'], 10_021, 10, 'peer-3');
      assert.equal(c2?.attempts, 2);
      assert.equal(await tasks.update(plain, ['assigned'], 'completed', 'late', undefined, 10_022, 1), undefined);
      assert.deepEqual(await tasks.expire(10_030), [], 'lease until 10 031');
      await tasks.expire(10_032);
      await tasks.claimFor('w4', ['lease-1'], 10_033, 10, 'peer-4');
      const last = await tasks.expire(10_044);
      assert.equal(last[0]?.state, 'failed', 'three dead holders: failed');
      const p3 = (await tasks.get(plain))!;
      assert.equal(p3.task.attempts, 3);
      assert.match(p3.task.error, /the agents holding it stopped heartbeating \(w1, w3, w4\); tried 3 times/);
      assert.equal(p3.formerHolders.length, 3);
      // TTL still applies to everything, and wins over the lease
      const short = (await tasks.submit({ ...base, skill: 'lease-3', ttl: 5 }, 'me', 11_000)).stored.task.id;
      await tasks.claimFor('w5', ['lease-3'], 11_001, 10, 'peer-5');
      await tasks.claimFor('w5', ['lease-3'], 11_004, 10, 'peer-5');
      assert.equal((await tasks.expire(11_006))[0]?.error, 'TTL expired');
      assert.equal((await tasks.get(short))?.task.state, 'failed');
      // the holder's own update is accepted while it holds the task
      const fine = (await tasks.submit({ ...base, skill: 'lease-4' }, 'me', 12_000)).stored.task.id;
      const [c4] = await tasks.claimFor('w6', ['lease-4'], 12_001, 10, 'peer-6');
      const done = await tasks.update(fine, ['assigned'], 'completed', 'ok', undefined, 12_002, c4!.attempts);
      assert.equal(done?.task.state, 'completed');
      assert.equal(done?.leaseUntil, null);
    });

    test('tasks: lease expiry is one atomic UPDATE — concurrent sweeps (two connections on PostgreSQL) act on each task once', async () => {
      const other = b.name === 'postgres' ? await b.open() : db;
      try {
        const one = new TaskStore(db);
        const two = new TaskStore(other);
        const ids: string[] = [];
        for (let i = 0; i < 40; i++)
          ids.push((await one.submit({ skill: 'race', target_agent_id: '', source_agent_id: '', payload: { i }, ttl: 1000 }, 'me', 20_000)).stored.task.id);
        assert.equal((await one.claimFor('racer', ['race'], 20_001, 5, 'peer-r')).length, 40);
        const results = await Promise.all([one.expire(20_010), two.expire(20_010), one.expire(20_010), two.expire(20_010)]);
        const acted = results.flat().map((t) => t.id);
        assert.equal(acted.length, 40, `each task swept exactly once (sweeps acted on ${results.map((r) => r.length).join(' + ')})`);
        assert.deepEqual([...new Set(acted)].sort(), [...ids].sort());
        for (const id of ids) {
          const t = (await one.get(id))!;
          assert.equal(t.task.state, 'pending');
          assert.equal(t.formerHolders.length, 1, 'recorded once');
        }
        // and two claims racing for the re-queued tasks never share one
        const [x, y] = await Promise.all([one.claimFor('r1', ['race'], 20_011, 5), two.claimFor('r2', ['race'], 20_011, 5)]);
        assert.equal(x.length + y.length, 40);
        assert.equal(new Set([...x, ...y].map((t) => t.id)).size, 40);
        assert.ok([...x, ...y].every((t) => t.attempts === 2));
      } finally {
        if (other !== db) await other.close();
      }
    });

    test('tasks: the migration brings an existing (pre-lease) tasks table up to date in place', async () => {
      const tasks = new TaskStore(db);
      await db.query("UPDATE tasks SET state = 'completed', lease_until = NULL WHERE state IN ('pending', 'assigned')"); // earlier tests' leftovers
      await db.query('ALTER TABLE tasks DROP COLUMN attempts, DROP COLUMN lease_until, DROP COLUMN holder_peer, DROP COLUMN former_holders');
      await db.query(
        `INSERT INTO tasks (id, owner, skill, target_agent_id, source_agent_id, assigned_agent_id, payload, state, created_at, updated_at, ttl)
         VALUES ('legacy1', 'me', 'old', '', '', 'w-old', '{}'::jsonb, 'assigned', 30000, 30000, 1000),
                ('legacy2', 'me', 'old', '', '', '', '{}'::jsonb, 'pending', 30000, 30000, 1000)`,
      );
      for (const stmt of schemaStatements()) await db.query(stmt);
      for (const stmt of schemaStatements()) await db.query(stmt);
      const held = (await tasks.get('legacy1'))!;
      assert.equal(held.task.attempts, 1, 'an assigned legacy task counts one hand-out');
      assert.equal(held.leaseUntil, null);
      assert.deepEqual(held.formerHolders, []);
      assert.equal((await tasks.get('legacy2'))!.task.attempts, 0);
      // no lease yet → only the start-up grace gives it one, then it expires like any other
      assert.deepEqual(
        (await tasks.expire(30_100)).map((t) => t.id),
        [],
      );
      assert.equal(await tasks.graceLeases(30_100, 10), 1);
      assert.deepEqual(
        (await tasks.expire(30_105)).map((t) => t.id),
        [],
      );
      const swept = await tasks.expire(30_111);
      assert.deepEqual(
        swept.map((t) => [t.id, t.state]),
        [['legacy1', 'pending']],
      );
      assert.deepEqual((await tasks.claimFor('w-new', ['old'], 30_112, 10)).map((t) => [t.id, t.attempts]).sort(), [
        ['legacy1', 2],
        ['legacy2', 1],
      ]);
    });

    test('keys, links and the audit log', async () => {
      const keys = new KeyStore(db);
      await keys.add('hash-1', 'kp', 'agent', 1);
      await keys.add('hash-2', 'kp', 'agent', 2);
      assert.equal((await keys.find('hash-1'))?.peer_id, 'kp');
      assert.ok(await keys.hasPeer('kp'));
      assert.equal(await keys.deleteByPeer('kp', 5), 2);
      assert.equal((await keys.find('hash-2'))?.deleted_at, 5, 'a deleted key stays as a tombstone, so it is answered "revoked"');
      assert.equal(await keys.hasPeer('kp'), false);
      assert.deepEqual(await keys.list(), []);
      // The deletion cut off the peer's JWTs in the same statement; a second one finds nothing and cuts nothing.
      assert.equal(await keys.deleteByPeer('kp', 7), 0);
      assert.deepEqual(await keys.tokenCutoffs(), [{ peer_id: 'kp', at: 5 }], 'cut-offs are kept whatever their age (TOKEN_TTL_S may shrink)');
      const links = new LinkStore(db);
      await links.replace(
        'x',
        [
          { peer_id: 'y', path: 'host', rtt_ms: 2 },
          { peer_id: 'x', path: 'host' },
        ],
        10,
      );
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
      assert.deepEqual(
        list.slice(0, 2).map((e) => e.action),
        ['key.delete', 'key.create'],
      );
      assert.deepEqual(list[1]!.detail, { role: 'agent' });
      assert.deepEqual(
        (await audit.list(10, e2.id)).map((e) => e.id),
        [e1.id],
      );
      // Append-only, enforced by the database itself.
      await assert.rejects(db.query('DELETE FROM audit'), /append-only/);
      await assert.rejects(db.query("UPDATE audit SET action = 'x'"), /append-only/);
    });
  });
}
