// The soak: N peers — sidecars and Chromium tabs, each in its own namespace — exchange messages
// for SOAK_S seconds while the lab cuts host links, partitions pairs of hosts, restarts (or
// kill -9s) the registry and kill -9s sidecars at random. Every message is accounted for (see
// ledger.ts) and memory is sampled.
import { readdirSync, readFileSync } from 'node:fs';
import { FaultWorld, openLinks, rssMb, type Sidecar, type Tab } from './world.ts';
import { Ledger, type LedgerCounts, type LedgerProbe } from './ledger.ts';
import type { LabHost } from './netns.ts';

export interface SoakOptions {
  durationS: number;
  peers: number;
  /** how many of the peers are browser tabs (the rest are sidecars) */
  browsers: number;
  /** messages per second per peer */
  rate: number;
  /** mean seconds between chaos actions */
  chaosEveryS: number;
  seed: number;
  log: (line: string) => void;
}

export interface SoakResult extends LedgerCounts {
  memory: Record<string, { start_mb: number; end_mb: number; restarts?: number }>;
  duration_s: number;
  at: string;
  peers: { sidecars: number; browsers: number };
  chaos: Record<string, number>;
  /**
   * Where the lost messages were lost (a message counts once, in the first that applies):
   * target_killed — its target's sidecar was killed from 15 s before to 2 s after it was sent;
   * sender_killed — its sender's sidecar was killed within 2 s after it was sent;
   * link — the rest: handed to a link that died (cut, partition) without an error to the sender.
   */
  lost_breakdown: { target_killed: number; sender_killed: number; link: number };
  /** each message delivered more than once: seconds since the soak began, and kills of its ends nearby */
  duplicate_details: { id: string; from: string; to: string; sent_s: number; delivered_s: number[]; target_killed_s: number[]; sender_killed_s: number[] }[];
  failed_by_code: Record<string, number>;
  /** one error text per code, as the sender saw it */
  failed_examples: Record<string, string>;
  settle_s: number;
  options: Omit<SoakOptions, 'log'>;
}

/** Small deterministic PRNG so a failing soak can be replayed with the same SOAK_SEED. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** The registry child's pid: the node process running chatixia-registry.mjs with PORT=<port>. */
function registryPid(port: number): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('chatixia-registry')) continue;
      if (readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`PORT=${port}`)) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const rand = rng(o.seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const between = (a: number, b: number) => a + rand() * (b - a);
  const world = await FaultWorld.start({ hosts: o.peers, tabs: o.browsers > 0 });
  const ledger = new Ledger();
  const chaos: Record<string, number> = { host_cuts: 0, partitions: 0, registry_restarts: 0, registry_kill9: 0, sidecar_kill9: 0 };
  const killedAt = new Map<string, number[]>(); // peer → times its sidecar was killed
  try {
    interface Slot {
      id: string;
      host: LabHost;
      probe: LedgerProbe & { isClosed: boolean; close(): unknown };
      alive: boolean;
      restarts: number;
      startMb: number;
      /** resident memory (sidecar) or the whole browser's PSS (tab), MiB */
      memMb(): number | undefined;
      links(): Promise<string[]>;
      sc?: Sidecar;
      tab?: Tab;
    }
    const slots: Slot[] = [];
    const sidecarSlot = async (sc: Sidecar): Promise<Slot> => {
      const probe = await sc.probe({ keepEvents: false });
      ledger.attach(probe, sc.peerId);
      return {
        id: sc.peerId,
        host: sc.host,
        probe,
        alive: true,
        restarts: 0,
        startMb: 0,
        sc,
        memMb: () => sc.rssMb(),
        links: async () => {
          const p = await sc.probe();
          try {
            return await openLinks(p);
          } finally {
            p.close();
          }
        },
      };
    };
    const sidecars = o.peers - o.browsers;
    for (let i = 1; i <= o.peers; i++) {
      const peerId = `soak-${i <= sidecars ? 's' : 't'}${String(i).padStart(2, '0')}`;
      if (i <= sidecars) {
        slots.push(await sidecarSlot(await world.startSidecar(i, { peerId })));
      } else {
        const tab = await world.startTab(i, { peerId });
        ledger.attach(tab.probe, peerId);
        slots.push({
          id: peerId,
          host: tab.host,
          probe: tab.probe,
          alive: true,
          restarts: 0,
          startMb: 0,
          tab,
          memMb: tab.memMb,
          links: () => tab.probe.links(),
        });
      }
    }
    const ids = slots.map((s) => s.id);
    o.log(`${sidecars} sidecars and ${o.browsers} tabs started; waiting for the full mesh`);
    const tMesh = Date.now();
    for (const s of slots) {
      const others = ids.filter((x) => x !== s.id);
      const deadline = Date.now() + 180_000;
      for (let open = await s.links(); !others.every((p) => open.includes(p)); open = await s.links()) {
        if (Date.now() > deadline) throw new Error(`${s.id}: links to ${others.filter((p) => !open.includes(p)).join(', ')} not open after 180 s`);
        await sleep(200);
      }
    }
    o.log(`full mesh of ${o.peers} in ${((Date.now() - tMesh) / 1000).toFixed(1)} s`);
    await sleep(2000);
    const regStart = rssMb(registryPid(world.registry.port)) ?? 0;
    for (const s of slots) s.startMb = s.memMb() ?? 0;
    const driverStart = Math.round(process.memoryUsage().rss / 1048576);

    const t0 = Date.now();
    const endAt = t0 + o.durationS * 1000;
    let stopping = false;

    // traffic: every 100 ms each live peer sends rate/10 messages to random other peers
    const traffic = (async () => {
      let carry = 0;
      while (!stopping && Date.now() < endAt) {
        carry += o.rate / 10;
        const n = Math.floor(carry);
        carry -= n;
        for (const s of slots) {
          if (!s.alive || s.probe.isClosed) continue;
          for (let k = 0; k < n; k++) {
            const to = pick(ids.filter((x) => x !== s.id));
            const big = rand() < 0.01; // 1 % of messages need chunking (300 KiB)
            ledger.send(s.probe, s.id, to, big ? 'z'.repeat(300 * 1024) : 'soak');
          }
        }
        await sleep(100);
      }
    })();

    // chaos: one action at a time, at random intervals
    const chaosLoop = (async () => {
      while (!stopping) {
        const wait = between(0.5, 1.5) * o.chaosEveryS * 1000;
        if (Date.now() + wait > endAt - 10_000) break;
        await sleep(wait);
        const action = pick(['cut', 'partition', 'registry', 'kill']);
        const dur = between(3000, 20_000);
        if (action === 'cut') {
          const h = pick(world.lab.hosts);
          chaos.host_cuts!++;
          o.log(`chaos: cut ${h.name} for ${(dur / 1000).toFixed(1)} s`);
          world.lab.cutHost(h);
          await sleep(dur);
          world.lab.restoreHost(h);
        } else if (action === 'partition') {
          const a = pick(world.lab.hosts);
          const b = pick(world.lab.hosts.filter((x) => x !== a));
          chaos.partitions!++;
          o.log(`chaos: partition ${a.name}|${b.name} for ${(dur / 1000).toFixed(1)} s`);
          world.lab.partition(a, b);
          await sleep(dur);
          world.lab.heal(a, b);
        } else if (action === 'registry') {
          if (rand() < 0.5) {
            chaos.registry_kill9!++;
            o.log('chaos: registry kill -9 + restart');
            await world.registry.kill();
            await sleep(between(1000, 5000));
          } else {
            chaos.registry_restarts!++;
            o.log('chaos: registry restart');
          }
          await world.registry.restart();
        } else {
          // tabs are not killed: a closed tab takes its agents with it (see docs/faults.md)
          const s = pick(slots.filter((x) => x.sc));
          const old = s.sc!;
          chaos.sidecar_kill9!++;
          o.log(`chaos: kill -9 sidecar ${s.id}`);
          s.alive = false;
          killedAt.set(s.id, [...(killedAt.get(s.id) ?? []), Date.now()]);
          await old.kill('SIGKILL');
          void s.probe.close();
          await sleep(between(2000, 5000));
          const idx = world.sidecars.indexOf(old);
          const sc = await world.startSidecar(old.host.index, { peerId: s.id, apiKey: old.apiKey });
          if (idx >= 0) world.sidecars.splice(idx, 1);
          const fresh = await sidecarSlot(sc);
          Object.assign(s, { sc, probe: fresh.probe, memMb: fresh.memMb, links: fresh.links });
          s.restarts++;
          s.alive = true;
        }
      }
    })();

    let lastReport = Date.now();
    while (Date.now() < endAt) {
      await sleep(1000);
      if (Date.now() - lastReport >= 30_000) {
        lastReport = Date.now();
        const c = ledger.counts();
        o.log(`t=${((Date.now() - t0) / 1000).toFixed(0)} s sent ${c.sent} delivered ${c.delivered} failed ${c.failed} outstanding ${c.lost}`);
      }
    }
    stopping = true;
    await traffic;
    await chaosLoop;
    const tSettle = Date.now();
    // wait for links to come back, then for every message to be delivered or failed
    await ledger.settle(90_000);
    const settleS = (Date.now() - tSettle) / 1000;

    const memory: SoakResult['memory'] = {};
    const regRestarts = chaos.registry_restarts! + chaos.registry_kill9!;
    memory.registry = { start_mb: regStart, end_mb: rssMb(registryPid(world.registry.port)) ?? 0, ...(regRestarts && { restarts: regRestarts }) };
    for (const s of slots) {
      memory[s.tab ? `${s.id} (browser)` : s.id] = { start_mb: s.startMb, end_mb: s.memMb() ?? 0, ...(s.restarts && { restarts: s.restarts }) };
    }
    memory.driver = { start_mb: driverStart, end_mb: Math.round(process.memoryUsage().rss / 1048576) };

    const killedNear = (peer: string, from: number, to: number) => (killedAt.get(peer) ?? []).some((t) => t >= from && t <= to);
    const lostBreakdown = { target_killed: 0, sender_killed: 0, link: 0 };
    for (const id of ledger.outstanding()) {
      const m = ledger.sent.get(id)!;
      if (killedNear(m.to, m.at - 15_000, m.at + 2000)) lostBreakdown.target_killed++;
      else if (killedNear(m.from, m.at, m.at + 2000)) lostBreakdown.sender_killed++;
      else lostBreakdown.link++;
    }
    const final = ledger.counts();
    const rel = (t: number) => Math.round((t - t0) / 100) / 10;
    const duplicateDetails = [...ledger.duplicateIds].slice(0, 50).map(([id, at]) => {
      const m = ledger.sent.get(id)!;
      return {
        id,
        from: m.from,
        to: m.to,
        sent_s: rel(m.at),
        delivered_s: at.map(rel),
        target_killed_s: (killedAt.get(m.to) ?? []).map(rel),
        sender_killed_s: (killedAt.get(m.from) ?? []).map(rel),
      };
    });
    const byCode: Record<string, number> = {};
    const examples: Record<string, string> = {};
    for (const [id, why] of ledger.failed) {
      if (ledger.delivered.has(id)) continue;
      const code = why.split(':')[0]!;
      byCode[code] = (byCode[code] ?? 0) + 1;
      examples[code] ??= why.slice(0, 300);
    }
    return {
      ...final,
      memory,
      duration_s: o.durationS,
      at: new Date().toISOString(),
      peers: { sidecars: o.peers - o.browsers, browsers: o.browsers },
      chaos,
      lost_breakdown: lostBreakdown,
      duplicate_details: duplicateDetails,
      failed_by_code: byCode,
      failed_examples: examples,
      settle_s: settleS,
      options: { durationS: o.durationS, peers: o.peers, browsers: o.browsers, rate: o.rate, chaosEveryS: o.chaosEveryS, seed: o.seed },
    };
  } finally {
    for (const h of world.lab.hosts) {
      try {
        world.lab.restoreHost(h);
      } catch {
        /* gone */
      }
    }
    await world.close();
  }
}
