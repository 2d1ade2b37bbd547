/**
 * Scenario 6: signaling under load. 1,000 and 5,000 simulated peers register, heartbeat and trade
 * offers/answers through our registry and through the PeerJS server (npm `peer`). Each server runs
 * in its own process with its own generator process; both are up at once and the measuring windows
 * alternate between them (A B B A …), so machine noise from the shared cores hits both alike.
 * Measured: peers registered within the deadline, relayed frames/s at saturation, one-way relay
 * latency at a fixed 10,000 relayed frames/s, and server memory per connected peer.
 */
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row, type Check } from '../lib/result.ts';
import { round, summarize, median, type Summary } from '../lib/stats.ts';
import { spawnReady, spawnTs, rssBytes, sleep, type Child } from '../lib/proc.ts';
import { oursRegistry, type LoadTarget } from './ours.ts';

const SIZES = (process.env.BENCH_REGISTRY_SIZES ?? '1000,5000').split(',').map(Number);
const RATE = 10000;
const RATE_WINDOWS = 4,
  RATE_WINDOW_MS = 1500,
  SAT_WINDOWS = 2,
  SAT_WINDOW_MS = 2000,
  WARM_MS = 2000;
const DEBUG = !!process.env.BENCH_DEBUG;
/** Registering stops here (keeps the run bounded); the row then says how many made it. */
const CONNECT_DEADLINE_MS = 60000;
/** Memory per peer = RSS growth from the 500th to the last registered peer, divided by their count. */
const MEM_FROM = 500;

async function peerjsTarget(): Promise<LoadTarget> {
  const { child, info } = await spawnReady<{ port: number }>('e2e/bench/bare/peerjs-server.ts');
  return {
    label: 'PeerJS server',
    kind: 'peerjs',
    url: `ws://127.0.0.1:${info.port}`,
    pid: child.pid,
    tokens: async () => undefined,
    stop: () => child.stop(),
  };
}

/** One generator process bound to one server; `cmd` sends a window command and resolves with its report. */
class Generator {
  connected = 0;
  connectMs = 0;
  rssIdle = NaN;
  rssFrom = NaN;
  rssLoaded = NaN;
  rate: number[] = [];
  rateLat: number[] = [];
  sat: number[] = [];
  satLat: number[] = [];
  done: { connected: number; errors: number; closed_early: number } | null = null;
  private waiting: ((m: any) => void) | null = null;
  private constructor(
    readonly target: LoadTarget,
    readonly child: Child,
    private dir: string,
  ) {}

  static async start(target: LoadTarget, n: number, tag: string, progress: (m: string) => void): Promise<Generator> {
    const dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
    const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
    const tokens = await target.tokens(ids);
    const cfgPath = join(dir, 'cfg.json');
    await writeFile(cfgPath, JSON.stringify({ kind: target.kind, url: target.url, ids, tokens, ratePerS: RATE, connectDeadlineMs: CONNECT_DEADLINE_MS }));
    await sleep(2000); // V8's memory reducer may collect the token-minting garbage while idle
    const rssIdle = await rssBytes(target.pid);
    let g!: Generator;
    const connected = new Promise<void>((resolve, reject) => {
      const child = spawnTs('e2e/bench/bare/load-gen.ts', [cfgPath], {
        stdin: true,
        onLine: (l) => {
          let m: any;
          try {
            m = JSON.parse(l);
          } catch {
            return;
          }
          if (m.progress) {
            progress(`${target.label} ${n}: ${m.progress}`);
            // memory baseline once the first 500 are in: start-up garbage (PGlite, JIT) is collected by then
            if (String(m.progress).startsWith(`registered ${MEM_FROM}/`))
              void rssBytes(target.pid).then((b) => {
                g.rssFrom = b;
              });
          } else if (m.connected !== undefined) {
            g.connected = m.connected;
            g.connectMs = m.connect_ms;
            progress(`${target.label} ${n}: ${m.connected} registered in ${Math.round(m.connect_ms)} ms`);
            resolve();
          } else if (m.window || m.done) {
            const w = g.waiting;
            g.waiting = null;
            w?.(m);
          }
        },
      });
      g = new Generator(target, child, dir);
      g.rssIdle = rssIdle;
      child.proc.once('exit', (code) => {
        if (code !== 0) reject(new Error(`load generator exited ${code}:\n${child.output().slice(-1500)}`));
      });
    });
    await Promise.race([
      connected,
      sleep(CONNECT_DEADLINE_MS + 30000).then(() => {
        throw new Error('load generator did not finish registering');
      }),
    ]);
    await sleep(2000); // let the server settle (broadcast backlogs, timers) before measuring
    g.rssLoaded = await rssBytes(target.pid);
    return g;
  }

  cmd(line: string): Promise<any> {
    if (DEBUG) console.error(`${new Date().toISOString()} [gen ${this.target.label}] ${line}`);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`load generator did not answer "${line}" within 60 s`)), 60000);
      this.waiting = (m) => {
        clearTimeout(t);
        resolve(m);
      };
      this.child.proc.stdin!.write(line + '\n');
    });
  }

  async window(kind: 'rate' | 'sat') {
    const m = await this.cmd(`${kind} ${kind === 'rate' ? RATE_WINDOW_MS : SAT_WINDOW_MS}`);
    const into = kind === 'rate' ? this.rateLat : this.satLat;
    for (const x of m.latencies as number[]) into.push(x); // no spread: windows hold ~20k samples
    (kind === 'rate' ? this.rate : this.sat).push(m.relayed_per_s);
  }

  private closed = false;
  async close() {
    if (this.closed) return;
    this.closed = true;
    const p = this.child.proc;
    if (p.exitCode === null && p.signalCode === null) this.done = (await this.cmd('quit').catch(() => null))?.done ?? null;
    await this.child.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

interface Measured {
  connected: number;
  connectMs: number;
  sat: number;
  rate: number;
  rateLat: Summary;
  satLat: Summary;
  memKiB: number;
  rss: [number, number, number];
  errors: number;
}

function measured(g: Generator): Measured {
  return {
    connected: g.connected,
    connectMs: g.connectMs,
    sat: median(g.sat),
    rate: median(g.rate),
    rateLat: summarize(g.rateLat),
    satLat: summarize(g.satLat),
    memKiB: (g.rssLoaded - g.rssFrom) / Math.max(1, g.connected - MEM_FROM) / 1024,
    rss: [g.rssIdle, g.rssFrom, g.rssLoaded],
    errors: g.done?.errors ?? 0,
  };
}

export const registryLoad: Scenario = {
  id: 'registry',
  maxSeconds: 360,
  title: 'registry under signaling load: 1,000 and 5,000 simulated peers vs the PeerJS server',
  async run(ctx) {
    const rows: Row[] = [];
    let tagN = 0;
    for (const n of SIZES) {
      const pj = await peerjsTarget();
      const oursT = await oursRegistry();
      const gens: Generator[] = [];
      let base: Measured,
        ours: Measured | null = null,
        oursWhy = oursT.ok ? '' : oursT.reason;
      try {
        const gb = await Generator.start(pj, n, `pj${++tagN}`, ctx.progress);
        gens.push(gb);
        let go: Generator | null = null;
        if (oursT.ok) {
          try {
            go = await Generator.start(oursT.target, n, `cx${++tagN}`, ctx.progress);
            gens.push(go);
          } catch (e) {
            oursWhy = `failed: ${String(e).split('\n')[0]}`;
          }
        }
        for (const g of gens) await g.cmd(`warm ${WARM_MS}`);
        // A B B A …: each window alternates which server goes first
        for (let w = 0; w < RATE_WINDOWS; w++) for (const g of w % 2 ? [...gens].reverse() : gens) await g.window('rate');
        for (let w = 0; w < SAT_WINDOWS; w++) for (const g of w % 2 ? [...gens].reverse() : gens) await g.window('sat');
        for (const g of gens) await g.close();
        base = measured(gb);
        if (go) ours = measured(go);
      } finally {
        for (const g of gens) await g.close().catch(() => {});
        await pj.stop();
        if (oursT.ok) await oursT.target.stop();
      }
      ctx.progress(
        `${n}: PeerJS ${Math.round(base.sat)}/s p99 ${round(base.rateLat.p99)} ms` +
          (ours ? `; ours ${Math.round(ours.sat)}/s p99 ${round(ours.rateLat.p99)} ms` : ''),
      );
      const mk = (name: string, unit: string, check: Check, pick: (r: Measured) => number | Summary, extra: (r: Measured) => Record<string, unknown>) => {
        const b = { scenario: 'registry', name, unit, check, baseline: pick(base), details: { baseline: extra(base), ...(ours ? { ours: extra(ours) } : {}) } };
        return ours ? row({ ...b, ours: pick(ours) }) : notMeasured(b, oursWhy || 'not run');
      };
      rows.push(
        mk(
          `signaling peers registered (${n})`,
          'peers',
          { kind: 'abs-min', min: n },
          (r) => r.connected,
          (r) => ({ registered: r.connected, register_all_ms: Math.round(r.connectMs), deadline_ms: CONNECT_DEADLINE_MS, errors: r.errors }),
        ),
      );
      rows.push(
        mk(
          `relay capacity, ${n} peers`,
          'msgs/s',
          n >= 5000
            ? {
                kind: 'all',
                checks: [
                  { kind: 'abs-min', min: 10000 },
                  { kind: 'ratio-min', min: 1 },
                ],
              }
            : { kind: 'ratio-min', min: 1 },
          (r) => Math.round(r.sat),
          (r) => ({ windows: SAT_WINDOWS, window_ms: SAT_WINDOW_MS, saturation_latency_ms: r.satLat, peers_in_use: r.connected }),
        ),
      );
      rows.push(
        mk(
          `relay latency p99 at ${RATE / 1000}k msgs/s, ${n} peers`,
          'ms',
          { kind: 'abs-max', max: 50 },
          (r) => r.rateLat.p99,
          (r) => ({
            achieved_per_s: Math.round(r.rate),
            latency_ms: { p50: round(r.rateLat.p50), p99: round(r.rateLat.p99), max: round(r.rateLat.max), n: r.rateLat.n },
            windows: RATE_WINDOWS,
            window_ms: RATE_WINDOW_MS,
          }),
        ),
      );
      const mem = mk(
        `server memory per peer, ${n} peers`,
        'KiB',
        { kind: 'info' },
        (r) => round(r.memKiB),
        (r) => ({
          rss_idle_MiB: round(r.rss[0] / 2 ** 20),
          [`rss_at_${MEM_FROM}_peers_MiB`]: round(r.rss[1] / 2 ** 20),
          rss_loaded_MiB: round(r.rss[2] / 2 ** 20),
          method: `(RSS with all registered − RSS at ${MEM_FROM}) / (registered − ${MEM_FROM})`,
        }),
      );
      // RSS moves with garbage collection; a delta at or below zero says GC noise outweighed the sockets
      const gcNote = 'RSS fell while peers registered: garbage collection outweighed the sockets; see rss_* in details';
      if (mem.ours !== null && mem.ours <= 0) Object.assign(mem, { ours: null, ratio: null, met: null, note: `not measured (${gcNote})` });
      if (mem.baseline !== null && mem.baseline <= 0)
        Object.assign(mem, { baseline: null, ratio: null, note: `${mem.note ? mem.note + '; ' : ''}baseline not measured (${gcNote})` });
      rows.push(mem);
      rows.push(
        mk(
          `server RSS with ${n} peers`,
          'MiB',
          { kind: 'info' },
          (r) => round(r.rss[2] / 2 ** 20),
          (r) => ({ rss_idle_MiB: round(r.rss[0] / 2 ** 20), registered: r.connected }),
        ),
      );
    }
    return rows;
  },
};
