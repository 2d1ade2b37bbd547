/** Scenario 5: browser↔browser connection time and 64 MiB throughput, PeerJS against ours, same Chromium. */
import type { Page } from 'playwright-core';
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row } from '../lib/result.ts';
import { summarize, median, round } from '../lib/stats.ts';
import { spawnReady } from '../lib/proc.ts';
import { benchServer, openPage, closePage } from '../lib/chromium.ts';
import { oursBrowserPair } from './ours.ts';

const CONNECT_REPS = 7,
  TP_REPS = 3;
const MiB = 1024 * 1024;
/** PeerJS modes tried for bulk data; the best one on a 16 MiB sweep is the baseline. */
const MODES: Array<{ serialization: string; chunk: number }> = [
  { serialization: 'binary', chunk: MiB },
  { serialization: 'raw', chunk: 64 * 1024 },
  { serialization: 'raw', chunk: 256 * 1024 },
];

type Bench = {
  init(host: string, port: number, id: string): Promise<void>;
  connect(remote: string, serialization: string): Promise<number>;
  disconnect(remote: string): void;
  throughput(remote: string, bytes: number, chunk: number): Promise<number>;
};
const call = <K extends keyof Bench>(p: Page, k: K, ...args: Parameters<Bench[K]>) =>
  p.evaluate(([k, args]) => ((globalThis as any).bench[k] as (...a: unknown[]) => unknown)(...(args as unknown[])), [k, args] as const) as Promise<
    Awaited<ReturnType<Bench[K]>>
  >;

export const peerjs: Scenario = {
  id: 'peerjs',
  title: 'PeerJS vs ours, browser↔browser: connection time and 64 MiB throughput',
  async run(ctx) {
    const { child, info } = await spawnReady<{ port: number }>('e2e/bench/bare/peerjs-server.ts');
    const srv = await benchServer();
    const pages: Page[] = [await openPage(`${srv.url}/peerjs.html`), await openPage(`${srv.url}/peerjs.html`)];
    const [a, b] = pages as [Page, Page];
    const ours = await oursBrowserPair();
    const rows: Row[] = [];
    try {
      await call(a, 'init', '127.0.0.1', info.port, 'pja');
      await call(b, 'init', '127.0.0.1', info.port, 'pjb');
      // connection time: connect() → open, both peers already registered with their signaling server
      const pc: number[] = [],
        oc: number[] = [];
      await call(a, 'connect', 'pjb', 'raw'); // warm-up
      if (ours.ok) await ours.pair.connectTime();
      for (let r = 0; r < CONNECT_REPS; r++) {
        if (r % 2 === 0) pc.push(await call(a, 'connect', 'pjb', 'raw'));
        if (ours.ok) oc.push(await ours.pair.connectTime());
        if (r % 2 === 1) pc.push(await call(a, 'connect', 'pjb', 'raw'));
      }
      ctx.progress(`connect: PeerJS p50 ${round(median(pc))} ms${ours.ok ? `, ours ${round(median(oc))} ms` : ''}`);
      const cbase = {
        scenario: 'peerjs',
        name: 'browser↔browser connect vs PeerJS',
        unit: 'ms',
        check: { kind: 'ratio-max', max: 1 } as const,
        baseline: summarize(pc),
        details: { reps: CONNECT_REPS, measured: 'connect() → DataChannel open, both peers registered' },
      };
      rows.push(ours.ok ? row({ ...cbase, ours: summarize(oc) }) : notMeasured(cbase, ours.reason));

      // throughput: PeerJS in its best mode
      const sweep: Record<string, number> = {};
      for (const m of MODES) {
        await call(a, 'connect', 'pjb', m.serialization);
        const ms = await call(a, 'throughput', 'pjb', 16 * MiB, m.chunk);
        sweep[`${m.serialization}/${m.chunk / 1024}KiB`] = round((16 * MiB) / 1e6 / (ms / 1000));
        await call(a, 'disconnect', 'pjb');
      }
      const bestI = MODES.map((m, i) => [sweep[`${m.serialization}/${m.chunk / 1024}KiB`]!, i] as const).sort((x, y) => y[0] - x[0])[0]![1];
      const best = MODES[bestI]!;
      ctx.progress(`PeerJS mode sweep ${JSON.stringify(sweep)} MB/s → ${best.serialization}/${best.chunk / 1024} KiB`);
      await call(a, 'connect', 'pjb', best.serialization);
      const pt: number[] = [],
        ot: number[] = [];
      for (let r = 0; r < TP_REPS; r++) {
        if (r % 2 === 0) pt.push((64 * MiB) / 1e6 / ((await call(a, 'throughput', 'pjb', 64 * MiB, best.chunk)) / 1000));
        if (ours.ok) ot.push(await ours.pair.throughput(64 * MiB));
        if (r % 2 === 1) pt.push((64 * MiB) / 1e6 / ((await call(a, 'throughput', 'pjb', 64 * MiB, best.chunk)) / 1000));
        ctx.progress(`throughput rep ${r + 1}/${TP_REPS}: PeerJS ${round(pt.at(-1)!)} MB/s${ours.ok ? `, ours ${round(ot.at(-1)!)} MB/s` : ''}`);
      }
      const tbase = {
        scenario: 'peerjs',
        name: '64 MiB browser↔browser vs PeerJS',
        unit: 'MB/s',
        check: { kind: 'ratio-min', min: 1 } as const,
        baseline: median(pt),
        details: {
          reps: TP_REPS,
          peerjs_mode: `${best.serialization}, ${best.chunk / 1024} KiB sends`,
          peerjs_sweep_MBps: sweep,
          peerjs_MBps: pt.map(round),
          ...(ours.ok ? { ours_MBps: ot.map(round) } : {}),
        },
      };
      rows.push(ours.ok ? row({ ...tbase, ours: median(ot) }) : notMeasured(tbase, ours.reason));
    } finally {
      await Promise.all(pages.map(closePage));
      if (ours.ok) await ours.pair.close();
      await child.stop();
    }
    return rows;
  },
};
