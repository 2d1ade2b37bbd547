/**
 * `npm run bench [-- <substring>…]`: runs every scenario (or those whose id contains a substring),
 * prints a table, writes e2e/bench/results.json and e2e/bench/RESULTS.md. See docs/bench.md.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import type { Scenario } from './lib/scenario.ts';
import type { Row } from './lib/result.ts';
import { printTable, writeResults, mergeWithPrevious, RESULTS_JSON, RUN_META } from './lib/report.ts';
import { killAll, REPO } from './lib/proc.ts';
import { shutdownBrowser } from './lib/chromium.ts';
import { scenarios } from './scenarios/index.ts';

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (process.argv.includes('--report-only')) {
  // re-renders RESULTS.md from results.json (after editing analysis.md), measuring nothing
  const rows = JSON.parse(await readFile(RESULTS_JSON, 'utf8')) as Row[];
  const meta = JSON.parse(await readFile(RUN_META, 'utf8').catch(() => '{"seconds":0,"full":true,"loadStart":0,"loadEnd":0}'));
  let analysis = '';
  try {
    analysis = await readFile(join(REPO, 'e2e/bench/analysis.md'), 'utf8');
  } catch {
    /* none */
  }
  await writeResults(rows, { ...meta, analysis });
  console.log('rewrote e2e/bench/RESULTS.md from results.json');
  process.exit(0);
}
const chosen: Scenario[] = scenarios.filter((s) => filters.length === 0 || filters.some((f) => s.id.includes(f)));
if (chosen.length === 0) {
  console.error(`no scenario matches ${filters.join(', ')}; scenarios: ${scenarios.map((s) => s.id).join(', ')}`);
  process.exit(2);
}

const t0 = Date.now();
const loadStart = loadavg()[0]!;
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s`;
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('exit', killAll);
// a scenario abandoned by its watchdog may still reject somewhere; say so and carry on
process.on('unhandledRejection', (e) => console.error(`${elapsed()} (late failure of an abandoned step: ${String(e).split('\n')[0]})`));

const rows: Row[] = [];
console.error(`bench: ${chosen.length} scenario(s): ${chosen.map((s) => s.id).join(', ')} (load average ${loadStart.toFixed(1)} on ${cpus().length} cores)`);
for (const [i, s] of chosen.entries()) {
  const tag = `[${i + 1}/${chosen.length} ${s.id}]`;
  console.error(`${elapsed()} ${tag} ${s.title}`);
  const ts = Date.now();
  try {
    // a watchdog: a hung scenario (a lost reply, a stuck page) must not stall the whole run
    const limitS = s.maxSeconds ?? 240;
    let timer: NodeJS.Timeout | undefined;
    const running = s.run({ progress: (m) => console.error(`${elapsed()} ${tag} ${m}`) });
    running.catch(() => {}); // after a timeout its late failure is expected, not a crash
    const out = await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${limitS} s`)), limitS * 1000);
      }),
    ]).finally(() => clearTimeout(timer));
    rows.push(...out);
    for (const r of out) {
      console.error(
        `${elapsed()} ${tag} ${r.name}: ours ${r.ours ?? '—'} / baseline ${r.baseline ?? '—'} ${r.unit}` +
          `${r.met === false ? '  (target missed)' : ''}${r.ours === null ? '  (' + (r.note ?? 'not measured') + ')' : ''}`,
      );
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`${elapsed()} ${tag} FAILED: ${msg}`);
    rows.push({
      scenario: s.id,
      name: s.title,
      unit: '',
      ours: null,
      baseline: null,
      ratio: null,
      target: '',
      met: null,
      note: `not measured (scenario failed: ${msg.split('\n')[0]!.slice(0, 300)})`,
      measured_at: new Date().toISOString(),
    });
  }
  killAll(); // nothing a scenario started may outlive it
  if (rows.some((r) => r.scenario === s.id && r.note?.includes('timed out after'))) await shutdownBrowser(); // unstick pages
  console.error(`${elapsed()} ${tag} done in ${((Date.now() - ts) / 1000).toFixed(1)} s`);
}
await shutdownBrowser();

const full = filters.length === 0;
const all = full
  ? rows
  : await mergeWithPrevious(
      rows,
      chosen.map((s) => s.id),
    );
printTable(rows);
let analysis = '';
try {
  analysis = await readFile(join(REPO, 'e2e/bench/analysis.md'), 'utf8');
} catch {
  /* none yet */
}
await writeResults(all, { seconds: (Date.now() - t0) / 1000, full, analysis, loadStart, loadEnd: loadavg()[0]! });
console.log(`\nwrote e2e/bench/results.json and e2e/bench/RESULTS.md (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(0);
