// The TURN tier (a real coturn, credentials from the registry's /api/config): with UDP between
// two peers blocked the link forms through the relay on its own, and ICE_TRANSPORT_POLICY=relay
// forces it; `delegate` reports tier relay.
// KNOWN FAILING (see docs/faults.md): the sidecar hands TURN REST credentials (`<expiry>:<peer>`,
// base64) to node-datachannel unencoded; libdatachannel parses them out of a URL and coturn sees
// a truncated username (401). Runs in `npm run test:faults`, out of `npm test` until fixed.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, waitLinked } from './world.ts';
import { pair, delegate, linkPath } from './tier-pair.ts';

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
