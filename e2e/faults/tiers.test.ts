// Three tiers, automatically: direct DataChannel → TURN relay → registry task queue. Two sidecars
// in two namespaces; the lab blocks UDP between them; `delegate` (a built-in skill of the sidecar)
// must still complete and say which tier carried it. TURN is a real coturn whose ephemeral
// credentials the registry hands out through /api/config.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, waitLinked } from './world.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import { pair, delegate, linkPath } from './tier-pair.ts';

describe('without TURN', () => {
  let world: FaultWorld;
  before(async () => {
    world = await FaultWorld.start({ hosts: 2 });
  });
  after(async () => {
    await world?.close();
  });

  test('open network: delegate goes over the direct DataChannel', async () => {
    await explained(world, async () => {
      const p = await pair(world, 'td');
      await waitLinked(p.pa, [p.B.peerId], 60_000);
      const r = await delegate(p, 1);
      assert.equal(r.tier, 'direct');
      assert.deepEqual(r.result, { done: { n: 1 }, by: p.B.peerId });
      await p.A.kill();
      await p.B.kill();
    });
  });

  test('UDP between the peers blocked: no link forms, delegate completes through the task queue', () =>
    explained(world, async () => {
      world.lab.blockUdp(world.lab.host(1), world.lab.host(2));
      const p = await pair(world, 'tq');
      // give ICE every chance; the link must not appear (else the block is not working)
      await new Promise((r) => setTimeout(r, 3000));
      await assert.rejects(waitLinked(p.pa, [p.B.peerId], 2000));
      const r = await delegate(p, 2);
      assert.equal(r.tier, 'task_queue');
      assert.deepEqual(r.result, { done: { n: 2 }, by: p.B.peerId });
    }));
});

describe('with coturn handed out by /api/config', () => {
  let world: FaultWorld;
  before(async () => {
    world = await FaultWorld.start({ hosts: 2, turn: true });
  });
  after(async () => {
    await world?.close();
  });

  test('UDP between the peers blocked: the link forms through TURN on its own, delegate says relay', async () => {
    await explained(world, async () => {
      world.lab.blockUdp(world.lab.host(1), world.lab.host(2));
      const p = await pair(world, 'tr');
      await waitLinked(p.pa, [p.B.peerId], 60_000);
      const r = await delegate(p, 3);
      assert.equal(r.tier, 'relay');
      assert.deepEqual(r.result, { done: { n: 3 }, by: p.B.peerId });
      await p.A.kill();
      await p.B.kill();
      world.lab.unblockUdp(world.lab.host(1), world.lab.host(2));
    });
  });

  test('ICE_TRANSPORT_POLICY=relay on an open network: the link is relayed and reported so', () =>
    explained(world, async () => {
      const p = await pair(world, 'tf', { ICE_TRANSPORT_POLICY: 'relay' });
      await waitLinked(p.pa, [p.B.peerId], 60_000);
      const r = await delegate(p, 4);
      assert.equal(r.tier, 'relay');
      // the topology the peers report shows the relayed edge too
      const deadline = Date.now() + 15_000;
      let path: string | undefined;
      while ((path = await linkPath(world, p.A.peerId, p.B.peerId)) !== 'relay' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 300));
      assert.equal(path, 'relay');
      const log = await world.turn.log();
      assert.match(log, /ALLOCATE processed, success/, 'coturn allocated relays');
    }));
});

describe('a peer that was just killed', () => {
  let world: FaultWorld;
  before(async () => {
    world = await FaultWorld.start({ hosts: 3 });
  });
  after(async () => {
    await world?.close();
  });

  test('delegate by skill right after kill -9 of one of two agents: the live one answers, directly', () =>
    explained(world, async () => {
      const env = { HEARTBEAT_MS: '500' };
      const A = await world.startSidecar(1, { peerId: 'dk-a', env });
      const B = await world.startSidecar(2, { peerId: 'dk-b', env });
      const C = await world.startSidecar(3, { peerId: 'dk-c', env });
      const pa = await A.probe();
      const skill = 'fault_work_dk';
      for (const s of [B, C]) {
        const p = await s.probe();
        p.registerAgent('worker', [skill]);
        p.serveSkill(skill, (args) => ({ done: args, by: s.peerId }));
      }
      // both agents known to the registry (B's sorts first) and linked to A
      const admin = new RegistryClient({ baseUrl: world.registry.url, apiKey: world.registry.adminKey });
      const deadline = Date.now() + 30_000;
      while ((await admin.listAgents()).filter((r) => r.capabilities.skills.includes(skill)).length < 2) {
        assert.ok(Date.now() < deadline, 'the workers never appeared in the registry');
        await new Promise((r) => setTimeout(r, 200));
      }
      await waitLinked(pa, [B.peerId, C.peerId], 60_000);
      await B.kill('SIGKILL');
      // B is still `active` in the registry and its link still looks open to A for a few seconds
      for (let n = 0; n < 3; n++) {
        const answer = await pa.callOwnSkill(A.peerId, 'delegate', { skill, args: { n }, timeout_ms: 8000 }, 15_000);
        assert.equal(answer.error, undefined, `delegate failed: ${answer.error}`);
        const r = answer.result as { tier?: string; result?: { by?: string } };
        assert.equal(r.result?.by, C.peerId, 'the agent whose peer is alive answered');
        assert.equal(r.tier, 'direct');
      }
    }));
});
