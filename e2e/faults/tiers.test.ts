// Three tiers, automatically: direct DataChannel → TURN relay → registry task queue. Two sidecars
// in two namespaces; the lab blocks UDP between them; `delegate` (a built-in skill of the sidecar)
// must still complete and say which tier carried it. TURN is a real coturn whose ephemeral
// credentials the registry hands out through /api/config.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, waitLinked } from './world.ts';
import { pair, delegate, linkPath } from './tier-pair.ts';

describe('without TURN', () => {
  let world: FaultWorld;
  before(async () => { world = await FaultWorld.start({ hosts: 2 }); });
  after(async () => { await world?.close(); });

  test('open network: delegate goes over the direct DataChannel', async () => {
    await explained(world, async () => {
      const p = await pair(world, 'td');
      await waitLinked(p.pa, [p.B.peerId], 60_000);
      const r = await delegate(p, 1);
      assert.equal(r.tier, 'direct');
      assert.deepEqual(r.result, { done: { n: 1 }, by: p.B.peerId });
      await p.A.kill(); await p.B.kill();
    });
  });

  test('UDP between the peers blocked: no link forms, delegate completes through the task queue', () => explained(world, async () => {
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
  before(async () => { world = await FaultWorld.start({ hosts: 2, turn: true }); });
  after(async () => { await world?.close(); });

  test('UDP between the peers blocked: the link forms through TURN on its own, delegate says relay', async () => {
    await explained(world, async () => {
      world.lab.blockUdp(world.lab.host(1), world.lab.host(2));
      const p = await pair(world, 'tr');
      await waitLinked(p.pa, [p.B.peerId], 60_000);
      const r = await delegate(p, 3);
      assert.equal(r.tier, 'relay');
      assert.deepEqual(r.result, { done: { n: 3 }, by: p.B.peerId });
      await p.A.kill(); await p.B.kill();
      world.lab.unblockUdp(world.lab.host(1), world.lab.host(2));
    });
  });

  test('ICE_TRANSPORT_POLICY=relay on an open network: the link is relayed and reported so', () => explained(world, async () => {
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
