// Backpressure, not memory growth: an agent floods 64 KiB messages at an agent on another sidecar
// that stops reading. The sidecars' memory must stay bounded; whatever cannot be delivered must be
// an error someone sees (the sender: send failed; the slow agent: queue_overflow with a count).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FaultWorld, explained, waitLinked, type Sidecar } from './world.ts';
import { Ledger } from './ledger.ts';
import type { IpcProbe } from './ipc-probe.ts';

let world: FaultWorld;
let A: Sidecar, B: Sidecar;
let pa: IpcProbe, slow: IpcProbe;
const ledger = new Ledger();

before(async () => {
  world = await FaultWorld.start({ hosts: 2 });
  A = await world.startSidecar(1, { peerId: 'bp-a' });
  B = await world.startSidecar(2, { peerId: 'bp-b' });
  pa = await A.probe();
  slow = await B.probe({ keepEvents: false });
  ledger.attach(pa, A.peerId);
  ledger.attach(slow, B.peerId);
  slow.registerAgent('slowpoke', []);
  await waitLinked(pa, [B.peerId], 60_000);
});
after(async () => {
  await world?.close();
});

test('a fast sender to an agent that stops reading: bounded memory, every undelivered message reported', () =>
  explained(world, async () => {
    const body = 'y'.repeat(64 * 1024);
    const TOTAL_MB = Number(process.env.BACKPRESSURE_MB ?? 400);
    const count = Math.ceil((TOTAL_MB * 1024 * 1024) / body.length);
    // let the sidecars settle, then take the baseline
    await new Promise((r) => setTimeout(r, 1000));
    const base = { a: A.rssMb()!, b: B.rssMb()! };
    const peak = { ...base };
    const sampler = setInterval(() => {
      peak.a = Math.max(peak.a, A.rssMb() ?? 0);
      peak.b = Math.max(peak.b, B.rssMb() ?? 0);
    }, 100);
    slow.pause();
    let stalls = 0;
    const t0 = Date.now();
    try {
      for (let i = 0; i < count; i++) {
        ledger.send(pa, A.peerId, B.peerId, body, 'slowpoke');
        // a well-behaved agent waits when its sidecar stops reading its socket
        if (!ledger.lastWriteOk) {
          stalls++;
          await once(pa.socket, 'drain');
        }
      }
      const sendS = (Date.now() - t0) / 1000;
      // the slow agent starts reading again and drains its queue
      await new Promise((r) => setTimeout(r, 2000));
      slow.resume();
      const c = await ledger.settle(60_000, { countOverflow: true });
      const accounted = c.delivered + c.failed + c.overflow_reported;
      console.log(
        `sent ${c.sent} x 64 KiB in ${sendS.toFixed(1)} s (socket stalls ${stalls}); delivered ${c.delivered}, send failed ${c.failed}, reported dropped ${c.overflow_reported}; ` +
          `RSS A ${base.a}→peak ${peak.a} MiB, B ${base.b}→peak ${peak.b} MiB`,
      );
      assert.ok(A.rssMb() !== undefined && B.rssMb() !== undefined, 'both sidecars are still running');
      assert.ok(peak.b - base.b < 512, `receiving sidecar grew by ${peak.b - base.b} MiB for ${TOTAL_MB} MB sent`);
      assert.ok(peak.a - base.a < 512, `sending sidecar grew by ${peak.a - base.a} MiB for ${TOTAL_MB} MB sent`);
      assert.ok(c.failed + c.overflow_reported > 0, 'the overflow was an error (send failed or queue_overflow), not unbounded buffering');
      assert.equal(accounted, c.sent, `delivered + failed + reported dropped must equal sent (silently lost: ${c.sent - accounted})`);
      assert.equal(c.duplicates, 0);
    } finally {
      clearInterval(sampler);
      slow.resume();
    }
  }));

test('requests to an agent that stops reading: the requester gets an error answer, not silence', () =>
  explained(world, async () => {
    slow.serveSkill('slow_skill', () => 'late');
    slow.registerAgent('slowpoke2', ['slow_skill']);
    await new Promise((r) => setTimeout(r, 500));
    slow.pause();
    const answers = new Map<string, { result?: unknown; error?: string }>();
    // a request the sending sidecar could not even queue (its link's queue is full) fails there: an
    // IPC error naming the request — also an answer, not silence
    const sendErrors = new Map<string, string>();
    const off = pa.onEvent((e) => {
      if (e.type === 'message' && e.payload.message.type === 'task_response' && e.payload.message.request_id?.startsWith('bp-req-')) {
        answers.set(e.payload.message.request_id, (e.payload.message.payload ?? {}) as { error?: string });
      } else if (e.type === 'error') {
        const rid = (e.payload as { request_id?: unknown }).request_id;
        if (typeof rid === 'string' && rid.startsWith('bp-req-')) sendErrors.set(rid, e.payload.code);
      }
    });
    const body = 'q'.repeat(32 * 1024);
    const N = 3000;
    const refused = () => [...answers.values()].filter((a) => a.error).length + [...sendErrors.keys()].filter((id) => !answers.has(id)).length;
    try {
      for (let i = 0; i < N; i++) {
        if (
          !pa.send(B.peerId, { type: 'task_request', request_id: `bp-req-${i}`, target_agent: 'slowpoke2', payload: { skill: 'slow_skill', args: { body } } })
        ) {
          await once(pa.socket, 'drain');
        }
      }
      // while the agent does not read, its peer holds a bounded queue for it and answers the rest now
      await pa.waitFor(() => refused() >= N / 3, 60_000, 'error answers while the agent is not reading');
      const overloaded = [...answers.values()].filter((a) => /overloaded|queue/i.test(a.error ?? '')).length;
      const codes = [...new Set(sendErrors.values())];
      // the agent reads again: what was held for it is served, so every request has its answer
      slow.resume();
      const answered = () => new Set([...answers.keys(), ...sendErrors.keys()]).size;
      await pa.waitFor(() => answered() === N, 60_000, 'an answer to every request');
      const served = [...answers.values()].filter((a) => a.result === 'late').length;
      console.log(
        `requests ${N}: while the agent was not reading, ${overloaded} answered overloaded by its peer and ${sendErrors.size} refused by the sender's own sidecar (${codes.join(', ') || 'none'}); ${served} served once it read again`,
      );
      assert.ok(overloaded > 0, 'the receiving sidecar answered overloaded for the agent that did not read');
      assert.ok(served > 0 && served <= 2000, `the held requests (a bounded queue: 1000 lines plus socket buffers) were served afterwards: ${served}`);
      assert.equal(answered(), N, 'every request got an answer or an error: none met silence');
    } finally {
      off();
      slow.resume();
    }
  }));
