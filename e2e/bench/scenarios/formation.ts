/** Scenario 1: full-mesh formation for N peers, and one peer joining a formed mesh of 10. */
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row } from '../lib/result.ts';
import { summarize } from '../lib/stats.ts';
import { BareFleet, type Fleet } from './fleet.ts';
import { startSidecarFleet, oursMissing } from './ours.ts';

const SIZES: Array<[n: number, reps: number]> = [
  [2, 3],
  [5, 3],
  [10, 3],
  [20, 2],
];
const JOIN_MESH = 10,
  JOIN_REPS = 3;
let round = 0;
/** n peer ids; at N ≥ 5 two of them are browser tabs. */
const ids = (n: number, tag: string, tabs = n >= 5 ? 2 : 0) => {
  round++;
  return Array.from({ length: n }, (_, i) => (i >= n - tabs ? `${tag}${round}-tab${i}` : `${tag}${round}-${i}`));
};

/** Runs baseline and ours alternately (the order flips each repetition) so drift hits both. */
async function alternate(fleets: Fleet[], reps: number, each: (f: Fleet) => Promise<void>) {
  for (let r = 0; r < reps; r++) {
    const order = r % 2 === 0 ? fleets : [...fleets].reverse();
    for (const f of order) await each(f);
  }
}

export const formation: Scenario = {
  id: 'formation',
  maxSeconds: 300,
  title: 'mesh formation, N = 2, 5, 10, 20 (one process per Node peer, 2 browser tabs at N ≥ 5)',
  async run(ctx) {
    const bare = await BareFleet.start();
    const missing = await oursMissing('sidecar');
    const ours = missing ? null : await startSidecarFleet();
    const fleets: Fleet[] = ours ? [bare, ours] : [bare];
    const rows: Row[] = [];
    try {
      for (const [n, reps] of SIZES) {
        const res = new Map<Fleet, { total: number[]; connect: number[]; retries: number }>();
        for (const f of fleets) res.set(f, { total: [], connect: [], retries: 0 });
        await alternate(fleets, reps, async (f) => {
          const out = await f.form(ids(n, f === bare ? 'b' : 's'), [], 60000 + n * 3000);
          const m = res.get(f)!;
          m.total.push(out.total);
          if (out.connect !== null) m.connect.push(out.connect);
          m.retries += out.retries;
          ctx.progress(`N=${n} ${f.label}: ${out.total.toFixed(0)} ms (connect phase ${out.connect?.toFixed(0) ?? '?'} ms)`);
          await f.stopAll();
        });
        const b = res.get(bare)!,
          o = ours ? res.get(ours)! : null;
        const base = {
          scenario: 'formation',
          name: `mesh formation N=${n}${n >= 5 ? ' (incl. 2 tabs)' : ''}`,
          unit: 'ms',
          check: { kind: 'ratio-max', max: 1.5 } as const,
          baseline: summarize(b.total),
        };
        const details = {
          reps,
          baseline_connect_phase_ms: summarize(b.connect),
          baseline_retries: b.retries,
          ...(o ? { ours_connect_phase_ms: summarize(o.connect), ours_retries: o.retries } : {}),
        };
        rows.push(o ? row({ ...base, ours: summarize(o.total), details }) : notMeasured({ ...base, details }, missing!));
        // the part the mesh itself controls: from the last peer's registration to the full mesh
        const phase = {
          scenario: 'formation',
          name: `  connect phase N=${n} (last registered → full mesh)`,
          unit: 'ms',
          check: { kind: 'info' } as const,
          baseline: summarize(b.connect),
        };
        rows.push(o ? row({ ...phase, ours: summarize(o.connect) }) : notMeasured(phase, missing!));
      }

      // One peer joins a formed mesh of JOIN_MESH: registered with signaling → channels open to all.
      const join = new Map<Fleet, number[]>();
      for (const f of fleets) join.set(f, []);
      for (const f of fleets) {
        const mesh = ids(JOIN_MESH, f === bare ? 'jb' : 'js', 0);
        await f.form(mesh, [], 120000);
        for (let r = 0; r < JOIN_REPS; r++) {
          const [joiner] = ids(1, f === bare ? 'xb' : 'xs', 0);
          const out = await f.form([joiner!], mesh, 30000);
          join.get(f)!.push(out.connect ?? out.total);
          ctx.progress(`join ${JOIN_MESH}+1 ${f.label}: ${(out.connect ?? out.total).toFixed(0)} ms after registering, ${out.total.toFixed(0)} ms after spawn`);
          mesh.push(joiner!);
        }
        await f.stopAll();
      }
      const jb = {
        scenario: 'formation',
        name: `peer joins mesh of ${JOIN_MESH}`,
        unit: 'ms',
        check: { kind: 'abs-max', max: 1000 } as const,
        baseline: summarize(join.get(bare)!),
        details: { reps: JOIN_REPS, measured_from: 'joiner registered with signaling' },
      };
      rows.push(ours ? row({ ...jb, ours: summarize(join.get(ours)!) }) : notMeasured(jb, missing!));
    } finally {
      await Promise.all(fleets.map((f) => f.close()));
    }
    return rows;
  },
};
