// The TURN tier for a browser: UDP between a tab and a sidecar is blocked, the registry hands out
// coturn's ephemeral credentials through /api/config, and the tab's link forms through the relay on
// its own. (The task-queue tier for tabs is in e2e/web/mesh.test.ts.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, knownPaths, waitLinked, type Sidecar, type Tab } from './world.ts';
import { Ledger } from './ledger.ts';
import type { IpcProbe } from './ipc-probe.ts';

let world: FaultWorld;
let S: Sidecar, ps: IpcProbe, T: Tab;
const ledger = new Ledger();

before(async () => {
  world = await FaultWorld.start({ hosts: 2, tabs: true, turn: true });
  world.lab.blockUdp(world.lab.host(1), world.lab.host(2));
  S = await world.startSidecar(1, { peerId: 'tt-side' });
  ps = await S.probe();
  ledger.attach(ps, S.peerId);
  T = await world.startTab(2, { peerId: 'tt-tab' });
  ledger.attach(T.probe, T.peerId);
});
after(async () => {
  await world?.close();
});

test('UDP between a tab and a sidecar blocked: the link forms through TURN and carries messages both ways', () =>
  explained(world, async () => {
    await waitLinked(ps, [T.peerId], 60_000);
    const paths = await knownPaths([T], [S.peerId], 10_000);
    assert.equal(paths[S.peerId], 'relay', `the tab's link to the sidecar is relayed (${JSON.stringify(paths)})`);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(ledger.send(ps, S.peerId, T.peerId, `to tab ${i}`), ledger.send(T.probe, T.peerId, S.peerId, `to sidecar ${i}`));
    const c = await ledger.settle(20_000);
    assert.deepEqual({ delivered: c.delivered, failed: c.failed, lost: c.lost }, { delivered: ids.length, failed: 0, lost: 0 });
    assert.match(await world.turn.log(), /ALLOCATE processed, success/, 'coturn allocated a relay');
  }));
