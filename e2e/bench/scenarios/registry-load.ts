/**
 * Scenario 6: signaling under load. 1,000 and 5,000 simulated peers (one generator process) register,
 * heartbeat and trade offers/answers through our registry and through the PeerJS server (npm `peer`),
 * each server in its own process. Measured: relayed frames/s at a fixed 10,000/s offer rate and at
 * saturation, one-way relay latency, and server memory per connected peer.
 */
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row } from '../lib/result.ts';
import { round } from '../lib/stats.ts';
import { spawnReady, spawnTs, rssBytes, sleep, type Child } from '../lib/proc.ts';
import { oursRegistry, type LoadTarget } from './ours.ts';

const SIZES = [1000, 5000];
const RATE = 10000, RATE_MS = 5000, SAT_MS = 5000;
/** Registering stops here (keeps the run bounded); the row then says how many made it. */
const CONNECT_DEADLINE_MS = 75000;

interface LoadResult {
  peers: number; connected: number; connect_ms: number; errors: number; closed_early: number;
  rate: { relayed_per_s: number; latency_ms: { n: number; p50: number; p99: number; max: number } };
  saturation: { relayed_per_s: number; latency_ms: { n: number; p50: number; p99: number; max: number } };
  rss_idle: number; rss_loaded: number;
}

async function peerjsTarget(): Promise<LoadTarget> {
  const { child, info } = await spawnReady<{ port: number }>('e2e/bench/bare/peerjs-server.ts');
  return {
    label: 'PeerJS server', kind: 'peerjs', url: `ws://127.0.0.1:${info.port}`, pid: child.pid,
    tokens: async () => undefined, stop: () => child.stop(),
  };
}

async function runLoad(target: LoadTarget, n: number, tag: string, progress: (m: string) => void): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const tokens = await target.tokens(ids);
  const cfgPath = join(dir, 'cfg.json');
  await writeFile(cfgPath, JSON.stringify({ kind: target.kind, url: target.url, ids, tokens, ratePerS: RATE, rateMs: RATE_MS, satMs: SAT_MS, connectDeadlineMs: CONNECT_DEADLINE_MS }));
  await sleep(2000); // V8's memory reducer may collect the token-minting garbage while idle
  const rssIdle = await rssBytes(target.pid);
  let gen: Child | undefined;
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      let rssLoaded = NaN;
      const timer = setTimeout(() => reject(new Error(`load generator did not finish in 180 s:\n${gen?.output().slice(-2000)}`)), 180000);
      gen = spawnTs('e2e/bench/bare/load-gen.ts', [cfgPath], {
        stdin: true,
        onLine: (l) => {
          let m: any;
          try { m = JSON.parse(l); } catch { return; }
          if (m.progress) progress(`${target.label} ${n}: ${m.progress}`);
          if (m.connected !== undefined) {
            progress(`${target.label} ${n}: ${m.connected} connected in ${Math.round(m.connect_ms)} ms`);
            void sleep(2000).then(async () => { // let the server settle (backlogs, timers) before measuring
              rssLoaded = await rssBytes(target.pid).catch(() => NaN);
              gen!.proc.stdin!.write('go\n');
            });
          }
          if (m.result) { clearTimeout(timer); resolve({ ...m.result, rss_idle: rssIdle, rss_loaded: rssLoaded }); }
        },
      });
      gen.proc.once('exit', (code) => { if (code !== 0) { clearTimeout(timer); reject(new Error(`load generator exited ${code}:\n${gen!.output().slice(-2000)}`)); } });
    });
  } finally {
    await gen?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const registryLoad: Scenario = {
  id: 'registry',
  title: 'registry under signaling load: 1,000 and 5,000 simulated peers vs the PeerJS server',
  async run(ctx) {
    const rows: Row[] = [];
    let round_ = 0;
    for (const n of SIZES) {
      const res: { base?: LoadResult; ours?: LoadResult; oursWhy?: string } = {};
      // ABBA order across sizes so neither side always runs on a warmer machine
      const order = n === SIZES[0] ? ['base', 'ours'] : ['ours', 'base'];
      for (const side of order) {
        round_++;
        if (side === 'base') {
          const t = await peerjsTarget();
          try { res.base = await runLoad(t, n, `pj${round_}`, ctx.progress); } finally { await t.stop(); }
        } else {
          const t = await oursRegistry();
          if (!t.ok) { res.oursWhy = t.reason; continue; }
          try { res.ours = await runLoad(t.target, n, `cx${round_}`, ctx.progress); }
          catch (e) { res.oursWhy = `failed: ${String(e).split('\n')[0]}`; }
          finally { await t.target.stop(); }
        }
      }
      const b = res.base!, o = res.ours;
      ctx.progress(`${n}: PeerJS ${Math.round(b.saturation.relayed_per_s)}/s p99 ${round(b.rate.latency_ms.p99)} ms` +
        (o ? `; ours ${Math.round(o.saturation.relayed_per_s)}/s p99 ${round(o.rate.latency_ms.p99)} ms` : ''));
      const mk = (name: string, unit: string, check: any, pick: (r: LoadResult) => number, extra: (r: LoadResult) => Record<string, unknown> = () => ({})) => {
        const base = { scenario: 'registry', name, unit, check, baseline: pick(b), details: { baseline: extra(b), ...(o ? { ours: extra(o) } : {}) } };
        return o ? row({ ...base, ours: pick(o) }) : notMeasured(base, res.oursWhy ?? 'not run');
      };
      const conn = (r: LoadResult) => ({ connected: r.connected, register_all_ms: Math.round(r.connect_ms), errors: r.errors, closed_early: r.closed_early });
      rows.push(mk(`signaling peers connected (${n})`, 'peers', { kind: 'abs-min', min: n }, (r) => r.connected, conn));
      rows.push(mk(`relay capacity, ${n} peers`, 'msgs/s', n >= 5000 ? { kind: 'all', checks: [{ kind: 'abs-min', min: 10000 }, { kind: 'ratio-min', min: 1 }] } : { kind: 'ratio-min', min: 1 },
        (r) => Math.round(r.saturation.relayed_per_s), (r) => ({ saturation_latency_ms: r.saturation.latency_ms })));
      rows.push(mk(`relay latency p99 at ${RATE / 1000}k msgs/s, ${n} peers`, 'ms', { kind: 'abs-max', max: 50 },
        (r) => round(r.rate.latency_ms.p99), (r) => ({ achieved_per_s: Math.round(r.rate.relayed_per_s), latency_ms: r.rate.latency_ms })));
      const mem = mk(`server memory per peer, ${n} peers`, 'KiB', { kind: 'info' },
        (r) => round((r.rss_loaded - r.rss_idle) / Math.max(1, r.connected) / 1024), (r) => ({ rss_idle_MiB: round(r.rss_idle / 2 ** 20), rss_loaded_MiB: round(r.rss_loaded / 2 ** 20) }));
      // RSS moves with garbage collection; a delta below zero says GC noise outweighed the sockets
      if (mem.ours !== null && mem.ours <= 0) {
        Object.assign(mem, { ours: null, ratio: null, met: null, note: 'not measured (RSS fell while peers connected: garbage collection of the token-minting phase outweighed the sockets; see rss_* in details)' });
      }
      rows.push(mem);
    }
    return rows;
  },
};
