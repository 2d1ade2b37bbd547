/** Scenarios 2 and 3: round trip and bulk throughput, ours against a bare DataChannel between the same kinds of peer. */
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row } from '../lib/result.ts';
import { summarize, round, median } from '../lib/stats.ts';
import { BarePairs, type PairKind } from './bare-pairs.ts';
import { oursPairs, type OursPairs } from './ours.ts';

const RTT_KINDS: PairKind[] = ['node-node', 'browser-node', 'browser-browser'];
const RTT_BLOCKS = 5,
  RTT_BLOCK = 100;

export const roundtrip: Scenario = {
  id: 'roundtrip',
  title: 'round trip of a small request, node↔node, browser↔node, browser↔browser',
  async run(ctx) {
    const bare = await BarePairs.start(RTT_KINDS);
    const ours = await oursPairs(RTT_KINDS);
    const rows: Row[] = [];
    try {
      for (const kind of RTT_KINDS) {
        const b: number[] = [],
          o: number[] = [];
        const oursSide = ours.ok ? ours.pairs : null;
        let canOurs = oursSide?.supports(kind) ?? false;
        let oursFailed = '';
        // ours failing (a lost reply, a dropped link) is reported on its row, the baseline still runs
        const oursBlock = async (n: number) => {
          if (!canOurs) return;
          try {
            o.push(...(await oursSide!.ping(kind, n)));
          } catch (e) {
            canOurs = false;
            oursFailed = String(e instanceof Error ? e.message : e).split('\n')[0]!;
            o.length = 0;
          }
        };
        await bare.ping(kind, 20); // warm-up (JIT, SCTP congestion window)
        await oursBlock(20);
        o.length = 0;
        for (let blk = 0; blk < RTT_BLOCKS; blk++) {
          const first = blk % 2 === 0;
          if (first) b.push(...(await bare.ping(kind, RTT_BLOCK)));
          await oursBlock(RTT_BLOCK);
          if (!first) b.push(...(await bare.ping(kind, RTT_BLOCK)));
        }
        const bs = summarize(b);
        ctx.progress(`${kind}: bare p50 ${round(bs.p50)} ms p99 ${round(bs.p99)} ms${canOurs ? `; ours p50 ${round(summarize(o).p50)} ms` : ''}`);
        const base = {
          scenario: 'roundtrip',
          name: `round trip ${kind}`,
          unit: 'ms',
          check: { kind: 'ratio-max', max: 1.5 } as const,
          baseline: bs,
          details: { samples: b.length, message_bytes: 64, ...(canOurs ? { path: oursSide!.describe(kind) } : {}) },
        };
        rows.push(
          canOurs
            ? row({ ...base, ours: summarize(o) })
            : notMeasured(base, oursFailed ? `ours failed: ${oursFailed}` : ours.ok ? `ours cannot run ${kind} yet: ${oursSide!.whyNot(kind)}` : ours.reason),
        );
      }
      if (ours.ok) {
        // the same node↔node round trip through the mesh core alone (Mesh.request, no IPC, no agents):
        // splits the whole-stack cost into mesh and IPC/process hops
        const b: number[] = [],
          o: number[] = [];
        await ours.pairs.meshPing(20);
        for (let blk = 0; blk < RTT_BLOCKS; blk++) {
          if (blk % 2 === 0) b.push(...(await bare.ping('node-node', RTT_BLOCK)));
          o.push(...(await ours.pairs.meshPing(RTT_BLOCK)));
          if (blk % 2 === 1) b.push(...(await bare.ping('node-node', RTT_BLOCK)));
        }
        rows.push(
          row({
            scenario: 'roundtrip',
            name: 'round trip node-node, mesh core only',
            unit: 'ms',
            check: { kind: 'info' },
            ours: summarize(o),
            baseline: summarize(b),
            details: { samples: o.length, path: 'Mesh.request → DataChannel → Mesh reply, two Node processes, no IPC' },
          }),
        );
      }
    } finally {
      await bare.close();
      if (ours.ok) await ours.pairs.close();
    }
    return rows;
  },
};

const TP_KINDS: PairKind[] = ['node-node', 'browser-browser'];
const MiB = 1024 * 1024;
const CHUNKS = [16 * 1024, 64 * 1024, 256 * 1024];
const TP_REPS = 3;

export const throughput: Scenario = {
  id: 'throughput',
  title: '64 MiB bulk transfer, node↔node and browser↔browser',
  async run(ctx) {
    const bare = await BarePairs.start(TP_KINDS);
    const ours = await oursPairs(TP_KINDS);
    const rows: Row[] = [];
    try {
      for (const kind of TP_KINDS) {
        // The baseline gets its best chunk size, chosen on a 16 MiB sweep in this same run.
        const sweep: Record<string, number> = {};
        for (const c of CHUNKS) sweep[c] = round(await bare.throughput(kind, 16 * MiB, c));
        const best = Number(Object.entries(sweep).sort((x, y) => y[1] - x[1])[0]![0]);
        ctx.progress(`${kind}: chunk sweep ${JSON.stringify(sweep)} MB/s → ${best / 1024} KiB`);
        const oursSide = ours.ok ? ours.pairs : null;
        const canOurs = oursSide?.supports(kind) ?? false;
        const b: number[] = [],
          o: number[] = [];
        for (let r = 0; r < TP_REPS; r++) {
          const first = r % 2 === 0;
          if (first) b.push(await bare.throughput(kind, 64 * MiB, best));
          if (canOurs) o.push(await oursSide!.throughput(kind, 64 * MiB));
          if (!first) b.push(await bare.throughput(kind, 64 * MiB, best));
          ctx.progress(`${kind} rep ${r + 1}/${TP_REPS}: bare ${round(b.at(-1)!)} MB/s${canOurs ? `, ours ${round(o.at(-1)!)} MB/s` : ''}`);
        }
        const base = {
          scenario: 'throughput',
          name: `64 MiB ${kind}`,
          unit: 'MB/s',
          check: { kind: 'ratio-min', min: 0.8 } as const,
          baseline: median(b),
          details: {
            reps: TP_REPS,
            baseline_MBps: b.map(round),
            ...(canOurs ? { ours_MBps: o.map(round) } : {}),
            baseline_chunk_bytes: best,
            baseline_chunk_sweep_MBps: sweep,
            ...(canOurs ? { how: oursSide!.describe(kind) } : {}),
          },
        };
        rows.push(
          canOurs ? row({ ...base, ours: median(o) }) : notMeasured(base, ours.ok ? `ours cannot run ${kind} yet: ${oursSide!.whyNot(kind)}` : ours.reason),
        );
      }
    } finally {
      await bare.close();
      if (ours.ok) await ours.pairs.close();
    }
    return rows;
  },
};
export type { OursPairs };
