// Links heal after a cut longer than the mesh's dead-link timeout (12 s): the link is torn down
// and re-created, and every message sent meanwhile must be delivered or fail visibly.
// KNOWN FAILING (see docs/faults.md): messages handed to the DataChannel before the link is
// declared dead are dropped with it and the sender never hears of them. Runs in
// `npm run test:faults`, kept out of `npm test` until mesh/peer-link.ts accounts for them.
import { test, before, after } from 'node:test';
import { FaultWorld, explained, waitLinked, type Sidecar } from './world.ts';
import { Ledger } from './ledger.ts';
import { cutAndHeal } from './heal.ts';
import type { IpcProbe } from './ipc-probe.ts';

let world: FaultWorld;
let A: Sidecar, B: Sidecar;
let pa: IpcProbe, pb: IpcProbe;
const ledger = new Ledger();

before(async () => {
  world = await FaultWorld.start({ hosts: 2 });
  A = await world.startSidecar(1, { peerId: 'la' });
  B = await world.startSidecar(2, { peerId: 'lb' });
  pa = await A.probe();
  pb = await B.probe();
  ledger.attach(pa, A.peerId);
  ledger.attach(pb, B.peerId);
  await waitLinked(pa, [B.peerId], 60_000);
});
after(async () => { await world?.close(); });

test('links heal after a long cut (16 s, longer than the dead-link timeout): every message is delivered or failed visibly', () => explained(world, async () => {
  await cutAndHeal({ world, ledger, A, B, pa, pb }, 'long cut (16 s)', 16_000);
}));
