// The "links heal" scenario shared by the quick test (a short cut) and the full suite (a cut
// longer than the mesh's dead-link timeout): A sends to B through a partition of their hosts;
// afterwards every message must be delivered or have failed with an error A saw.
import assert from 'node:assert/strict';
import { waitLinked, type FaultWorld, type Sidecar } from './world.ts';
import type { Ledger } from './ledger.ts';
import type { IpcProbe } from './ipc-probe.ts';

export interface HealSetup {
  world: FaultWorld;
  ledger: Ledger;
  A: Sidecar;
  B: Sidecar;
  pa: IpcProbe;
  pb: IpcProbe;
}

/** Sends one message A→B every `everyMs` during `ms`; answers the ids. */
export async function trickle(s: HealSetup, ms: number, everyMs: number): Promise<string[]> {
  const ids: string[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    ids.push(s.ledger.send(s.pa, s.A.peerId, s.B.peerId, 'x'.repeat(100)));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return ids;
}

export async function cutAndHeal(s: HealSetup, label: string, cutMs: number): Promise<void> {
  const { world, ledger, A, B, pa, pb } = s;
  await waitLinked(pa, [B.peerId], 30_000);
  world.lab.partition(A.host, B.host);
  let ids: string[];
  try {
    ids = await trickle(s, cutMs, 100);
  } finally {
    world.lab.heal(A.host, B.host);
  }
  // the link comes back without any agent action
  await waitLinked(pa, [B.peerId], 60_000);
  ids.push(...(await trickle(s, 2000, 100)));
  await ledger.settle(30_000);
  const lost = ids.filter((id) => !ledger.delivered.has(id) && !ledger.failed.has(id));
  const downs = pa.events.filter((e) => e.type === 'peer_disconnected' && e.payload.peer_id === B.peerId).length;
  console.log(
    `${label}: sent ${ids.length}, delivered ${ids.filter((id) => ledger.delivered.has(id)).length}, ` +
      `failed ${ids.filter((id) => ledger.failed.has(id) && !ledger.delivered.has(id)).length}, lost ${lost.length}; peer_disconnected seen by A: ${downs}`,
  );
  assert.equal(lost.length, 0, `${lost.length} of ${ids.length} messages lost silently during the cut (e.g. ${lost.slice(0, 5).join(', ')})`);
  // after recovery a new message goes through
  const id = ledger.send(pa, A.peerId, B.peerId, 'after');
  await pb.waitFor(() => ledger.delivered.has(id), 10_000, 'a message after recovery');
}
