/** Scenario 4: one request/answer over the sidecar's Unix socket against a bare JSON-line echo. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured } from '../lib/result.ts';
import { summarize, round } from '../lib/stats.ts';
import { spawnReady } from '../lib/proc.ts';
import { LineClient } from '../lib/line-client.ts';
import { oursIpc } from './ours.ts';

const BLOCKS = 10,
  BLOCK = 200;

async function timeLines(c: LineClient, n: number, line: unknown, isReply: (m: any) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    c.send(line);
    await c.next(isReply);
    out.push(performance.now() - t);
  }
  return out;
}

export const ipc: Scenario = {
  id: 'ipc',
  title: 'IPC hop: sidecar Unix socket vs bare Unix-socket JSON-line echo',
  async run(ctx) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-ipc-'));
    const sock = join(dir, 'echo.sock');
    const { child } = await spawnReady('e2e/bench/bare/echo-server.ts', [sock]);
    const echo = await LineClient.connect(sock);
    const ours = await oursIpc();
    try {
      const line = { type: 'list_peers', payload: {} };
      await timeLines(echo, 200, line, () => true);
      if (ours.ok) await timeLines(ours.client, 200, ours.line, ours.isReply);
      const b: number[] = [],
        o: number[] = [];
      for (let blk = 0; blk < BLOCKS; blk++) {
        if (blk % 2 === 0) b.push(...(await timeLines(echo, BLOCK, line, () => true)));
        if (ours.ok) o.push(...(await timeLines(ours.client, BLOCK, ours.line, ours.isReply)));
        if (blk % 2 === 1) b.push(...(await timeLines(echo, BLOCK, line, () => true)));
      }
      const bs = summarize(b);
      ctx.progress(`bare echo p50 ${round(bs.p50)} ms p99 ${round(bs.p99)} ms${ours.ok ? `; ours p50 ${round(summarize(o).p50)} ms` : ''}`);
      const base = {
        scenario: 'ipc',
        name: 'IPC hop (Unix socket round trip)',
        unit: 'ms',
        check: { kind: 'diff-max', max: 0.2 } as const,
        baseline: bs,
        details: { samples: b.length, ...(ours.ok ? { ours_request: ours.describe } : {}) },
      };
      return [ours.ok ? row({ ...base, ours: summarize(o) }) : notMeasured(base, ours.reason)];
    } finally {
      echo.close();
      if (ours.ok) await ours.close();
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
