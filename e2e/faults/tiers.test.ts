// Three tiers, automatically: direct DataChannel → TURN relay → registry task queue. Two sidecars
// in two namespaces; the lab blocks UDP between them; `delegate` (a built-in skill of the sidecar)
// must still complete and say which tier carried it. The TURN tier is in tiers-relay.suite.ts.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, waitLinked } from './world.ts';
import { pair, delegate } from './tier-pair.ts';

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
