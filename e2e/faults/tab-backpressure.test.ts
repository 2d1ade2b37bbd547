// Backpressure towards a browser: an agent on a sidecar floods 64 KiB messages at a worker agent
// in a Chromium tab whose thread is busy. postMessage itself has no back-pressure, so without the
// port's credit window the lines would pile up inside the worker until the tab runs out of memory.
// The browser's memory must stay bounded, and whatever is not delivered must be an error someone
// sees (queue_overflow at the agent, or a failed send at the sender).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FaultWorld, explained, waitLinked, type Sidecar, type Tab } from './world.ts';
import { Ledger } from './ledger.ts';
import type { IpcProbe } from './ipc-probe.ts';

let world: FaultWorld;
let A: Sidecar, pa: IpcProbe;
let B: Tab;
const ledger = new Ledger();

before(async () => {
  world = await FaultWorld.start({ hosts: 2, tabs: true });
  A = await world.startSidecar(1, { peerId: 'tbp-side' });
  pa = await A.probe();
  ledger.attach(pa, A.peerId);
  B = await world.startTab(2, { peerId: 'tbp-tab' });
  ledger.attach(B.probe, B.peerId);
  await waitLinked(pa, [B.peerId], 60_000);
});
after(async () => {
  await world?.close();
});

test("a fast sender to a busy browser worker agent: the tab's memory stays bounded, every undelivered message is reported", () =>
  explained(world, async () => {
    const body = 'w'.repeat(64 * 1024);
    const TOTAL_MB = Number(process.env.BACKPRESSURE_MB ?? 400);
    const count = Math.ceil((TOTAL_MB * 1024 * 1024) / body.length);
    // The resting size is the highest of 20 samples over 2 s, as the peak is the highest during the
    // flood: one sample could catch a moment right after a garbage collection and overstate the growth.
    let base = 0;
    for (let i = 0; i < 20; i++) {
      base = Math.max(base, B.memMb() ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    let peak = base;
    const sampler = setInterval(() => {
      peak = Math.max(peak, B.memMb() ?? 0);
    }, 100);
    // the worker agent's thread is busy for the whole flood: it reads nothing (the flood takes 20-50 s
    // on a loaded 2-core machine; the stall must outlast it)
    const STALL_MS = Number(process.env.BACKPRESSURE_STALL_MS ?? 75_000);
    const free = B.probe.stall(STALL_MS);
    const t0 = Date.now();
    let stalls = 0;
    try {
      for (let i = 0; i < count; i++) {
        ledger.send(pa, A.peerId, B.peerId, body, 'tab-agent');
        if (!ledger.lastWriteOk) {
          stalls++;
          await once(pa.socket, 'drain');
        }
        // a well-behaved agent also keeps reading its own socket (acks) while it sends
        else if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      const sendS = (Date.now() - t0) / 1000;
      // every message is now held by the tab (confirmed) or failed at the sender
      await pa.waitFor(() => ledger.sent.size <= ledger.confirmed.size + ledger.failed.size, 120_000, 'the tab to confirm or refuse every message');
      const busyPeak = peak;
      const stillBusy = Date.now() - t0 < STALL_MS;
      // the agent's thread comes back and drains what the tab kept for it
      await free;
      const c = await ledger.settle(60_000, { countOverflow: true });
      const codes: Record<string, number> = {};
      for (const [id, why] of ledger.failed) if (!ledger.delivered.has(id)) codes[why.split(':')[0]!] = (codes[why.split(':')[0]!] ?? 0) + 1;
      console.log(`failed by code ${JSON.stringify(codes)}; queue_overflow reported to ${JSON.stringify(Object.fromEntries(ledger.overflowBy))}`);
      console.log(
        `sent ${c.sent} x 64 KiB in ${sendS.toFixed(1)} s (socket stalls ${stalls}), agent busy throughout: ${stillBusy}; ` +
          `delivered ${c.delivered}, send failed ${c.failed}, reported dropped ${c.overflow_reported}; tab memory (PSS) ${base} → peak ${busyPeak} MiB`,
      );
      assert.ok(stillBusy, `the flood outlasted the agent's ${STALL_MS} ms stall; raise BACKPRESSURE_STALL_MS`);
      assert.ok(busyPeak - base < 160, `the tab grew by ${(busyPeak - base).toFixed(0)} MiB for ${TOTAL_MB} MB sent to an agent that did not read`);
      assert.ok(
        (ledger.overflowBy.get(B.peerId) ?? 0) > 0,
        'the tab kept a bounded queue for its busy agent and told it how many messages it missed (queue_overflow)',
      );
      assert.equal(
        c.delivered + c.failed + c.overflow_reported,
        c.sent,
        `delivered + failed + reported dropped must equal sent (silently lost: ${c.sent - c.delivered - c.failed - c.overflow_reported})`,
      );
      assert.equal(c.duplicates, 0);
    } finally {
      clearInterval(sampler);
    }
  }));
