// Browser peers under faults: two Chromium tabs and a sidecar, each in its own network namespace.
// Tab↔tab links recover from a cut by an ICE restart (same connection, same DataChannel); a
// tab↔sidecar link (node-datachannel cannot restart ICE) by a fresh connection. Either way every
// message sent meanwhile is delivered or fails with an error its sender saw.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FaultWorld, explained, waitLinked, type Sidecar, type Tab } from './world.ts';
import { Ledger, type LedgerProbe } from './ledger.ts';
import type { IpcProbe } from './ipc-probe.ts';
import type { LabHost } from './netns.ts';

let world: FaultWorld;
let S: Sidecar, ps: IpcProbe;
let T1: Tab, T2: Tab;
const ledger = new Ledger();

async function tabLinked(t: Tab, peers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let open: string[] = [];
  while (Date.now() < deadline) {
    open = await t.probe.links();
    if (peers.every((p) => open.includes(p))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`tab ${t.peerId}: links to ${peers.join(', ')} not open after ${timeoutMs} ms (open: ${open.join(', ') || 'none'})`);
}

before(async () => {
  world = await FaultWorld.start({ hosts: 3, tabs: true });
  S = await world.startSidecar(1, { peerId: 'ts-side' });
  ps = await S.probe();
  ledger.attach(ps, S.peerId);
  T1 = await world.startTab(2, { peerId: 'ts-tab1' });
  T2 = await world.startTab(3, { peerId: 'ts-tab2' });
  ledger.attach(T1.probe, T1.peerId);
  ledger.attach(T2.probe, T2.peerId);
  await waitLinked(ps, [T1.peerId, T2.peerId], 60_000);
  await tabLinked(T1, [S.peerId, T2.peerId], 60_000);
  await tabLinked(T2, [S.peerId, T1.peerId], 60_000);
});
after(async () => {
  await world?.close();
});

interface End {
  id: string;
  probe: LedgerProbe;
  host: LabHost;
}
const end = (x: Sidecar | Tab, probe: LedgerProbe): End => ({ id: x.peerId, probe, host: x.host });

/** Sends both ways between a and b every `everyMs` for `ms`; answers the ids. */
async function exchange(a: End, b: End, ms: number, everyMs = 100): Promise<string[]> {
  const ids: string[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    ids.push(ledger.send(a.probe, a.id, b.id, 'x'.repeat(100)), ledger.send(b.probe, b.id, a.id, 'y'.repeat(100)));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return ids;
}

function tally(ids: string[]) {
  const delivered = ids.filter((id) => ledger.delivered.has(id)).length;
  const failed = ids.filter((id) => ledger.failed.has(id) && !ledger.delivered.has(id)).length;
  return { sent: ids.length, delivered, failed, lost: ids.length - delivered - failed };
}

test('tabs and a sidecar exchange messages in every direction', () =>
  explained(world, async () => {
    const ids = [
      ...(await exchange(end(S, ps), end(T1, T1.probe), 1000)),
      ...(await exchange(end(T1, T1.probe), end(T2, T2.probe), 1000)),
      ledger.send(ps, S.peerId, T2.peerId, 'z'.repeat(300 * 1024)),
      ledger.send(T2.probe, T2.peerId, S.peerId, 'z'.repeat(300 * 1024)),
    ];
    await ledger.settle(20_000);
    const t = tally(ids);
    assert.deepEqual(t, { sent: ids.length, delivered: ids.length, failed: 0, lost: 0 }, 'all delivered on an open network');
    assert.equal(ledger.duplicates, 0);
  }));

test('a cut between two tabs (16 s) heals by ICE restart: same connection, nothing lost', () =>
  explained(world, async () => {
    const before = await T1.probe.connectionId(T2.peerId);
    assert.ok(before, 'tab 1 has a connection to tab 2');
    world.lab.partition(T1.host, T2.host);
    let ids: string[];
    try {
      ids = await exchange(end(T1, T1.probe), end(T2, T2.probe), 16_000);
    } finally {
      world.lab.heal(T1.host, T2.host);
    }
    await tabLinked(T1, [T2.peerId], 30_000);
    await tabLinked(T2, [T1.peerId], 30_000);
    ids.push(...(await exchange(end(T1, T1.probe), end(T2, T2.probe), 2000)));
    await ledger.settle(30_000);
    const t = tally(ids);
    const states = (await T1.probe.linkEvents()).filter((e) => e.peer === T2.peerId).map((e) => e.state);
    const after = await T1.probe.connectionId(T2.peerId);
    console.log(`tab↔tab cut 16 s: ${JSON.stringify(t)}; link states seen by tab 1: ${states.join(' → ')}; connection ${before} → ${after}`);
    assert.equal(t.lost, 0, `${t.lost} messages lost silently`);
    assert.ok(states.includes('reconnecting'), 'the cut was noticed (the link went to reconnecting)');
    assert.equal(after, before, 'the link recovered in place by an ICE restart, not by a new connection');
    assert.ok(t.delivered > t.sent / 2, `most messages delivered (${t.delivered} of ${t.sent})`);
  }));

test('a cut between a tab and a sidecar (16 s) heals by a fresh connection, nothing lost', () =>
  explained(world, async () => {
    const before = await T1.probe.connectionId(S.peerId);
    world.lab.partition(T1.host, S.host);
    let ids: string[];
    try {
      ids = await exchange(end(S, ps), end(T1, T1.probe), 16_000);
    } finally {
      world.lab.heal(T1.host, S.host);
    }
    await tabLinked(T1, [S.peerId], 60_000);
    await waitLinked(ps, [T1.peerId], 60_000);
    ids.push(...(await exchange(end(S, ps), end(T1, T1.probe), 2000)));
    await ledger.settle(30_000);
    const t = tally(ids);
    const after = await T1.probe.connectionId(S.peerId);
    console.log(`tab↔sidecar cut 16 s: ${JSON.stringify(t)}; connection ${before} → ${after}`);
    assert.equal(t.lost, 0, `${t.lost} messages lost silently`);
    assert.notEqual(after, before, 'a node-datachannel peer cannot restart ICE: the link is a new connection');
    assert.equal(ledger.duplicates, 0);
  }));
