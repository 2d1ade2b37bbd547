// The registry forces TURN (ICE_TRANSPORT_POLICY=relay): a tab learns it from /api/config when it
// joins — after its mesh was built — and its links go through coturn although UDP between the two
// hosts is open. (A tab used to read the policy only when its mesh was built, before it had one.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, knownPaths, type Tab } from './world.ts';

let world: FaultWorld;
let A: Tab, B: Tab;

before(async () => {
  world = await FaultWorld.start({ hosts: 2, tabs: true, turn: true, registryEnv: { ICE_TRANSPORT_POLICY: 'relay' } });
  A = await world.startTab(1, { peerId: 'rp-tab-a' });
  B = await world.startTab(2, { peerId: 'rp-tab-b' });
});
after(async () => {
  await world?.close();
});

test('the registry forces TURN: two tabs with open UDP between them link through the relay', () =>
  explained(world, async () => {
    const paths = await knownPaths([A, B], [A.peerId, B.peerId], 60_000);
    assert.deepEqual(paths, { [A.peerId]: 'relay', [B.peerId]: 'relay' }, 'both ends of the tab-to-tab link are relayed');
    assert.match(await world.turn.log(), /ALLOCATE processed, success/, 'coturn allocated a relay');
  }));
