/** Prints the table and writes results.json and RESULTS.md. */
import { spawnSync } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Row } from './result.ts';
import { REPO } from './proc.ts';

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : String(v));
const verdict = (r: Row) => (r.met === true ? 'yes' : r.met === false ? 'NO' : r.ours === null ? 'n/a' : '—');

function withP99(v: number | null, p: number | null | undefined) {
  return p === undefined || p === null || v === null ? fmt(v) : `${fmt(v)} (p99 ${fmt(p)})`;
}

export function printTable(rows: Row[]): void {
  const head = ['scenario', 'ours', 'baseline', 'ratio', 'unit', 'target', 'met'];
  const body = rows.map((r) => [r.name, withP99(r.ours, r.ours_p99), withP99(r.baseline, r.baseline_p99), fmt(r.ratio), r.unit, r.target, verdict(r)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log('\n' + line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    console.log('\nnotes:');
    for (const r of notes) console.log(`  ${r.name}: ${r.note}`);
  }
}

export const RESULTS_JSON = join(REPO, 'e2e/bench/results.json');
export const RESULTS_MD = join(REPO, 'e2e/bench/RESULTS.md');

/** A subset run replaces only its own scenarios' rows, keeping the rest of the last results. */
export async function mergeWithPrevious(rows: Row[], ranScenarios: string[]): Promise<Row[]> {
  let prev: Row[] = [];
  try {
    prev = JSON.parse(await readFile(RESULTS_JSON, 'utf8'));
  } catch {
    /* first run */
  }
  if (!Array.isArray(prev)) prev = [];
  const ran = new Set(ranScenarios);
  const kept = prev.filter((r) => !ran.has(r.scenario));
  return [...kept, ...rows];
}

export const RUN_META = join(REPO, 'e2e/bench/.run-meta.json');

export async function writeResults(
  rows: Row[],
  meta: { seconds: number; full: boolean; analysis: string; loadStart: number; loadEnd: number; at?: string },
): Promise<void> {
  const at = meta.at ?? new Date().toISOString();
  await writeFile(RESULTS_JSON, JSON.stringify(rows, null, 2) + '\n');
  await writeFile(RUN_META, JSON.stringify({ seconds: meta.seconds, full: meta.full, loadStart: meta.loadStart, loadEnd: meta.loadEnd, at }) + '\n');
  const md: string[] = [];
  md.push('# Benchmark results', '');
  md.push(
    `Measured by \`npm run bench\` on ${at.slice(0, 16).replace('T', ' ')} UTC, ` +
      `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
      `${meta.full ? 'full run' : 'partial run merged with the previous results'} took ${Math.round(meta.seconds)} s; ` +
      `load average ${meta.loadStart.toFixed(1)} at the start and ${meta.loadEnd.toFixed(1)} at the end (the machine is shared with other engineers' test runs). ` +
      'Every baseline was measured in the same run, interleaved with ours. Values are medians (p99 in brackets); ' +
      'ratio = ours / baseline. How to read them: [docs/bench.md](../../docs/bench.md).',
    '',
  );
  md.push('| scenario | ours | baseline | ratio | target | met |', '|---|---|---|---|---|---|');
  for (const r of rows) {
    const u = r.unit === 'ratio' ? '' : ' ' + r.unit;
    const cell = (v: number | null, p: number | null | undefined) => (v === null ? '—' : `${withP99(v, p)}${u}`);
    md.push(
      `| ${r.name} | ${r.ours === null ? 'not measured' : cell(r.ours, r.ours_p99)} | ${cell(r.baseline, r.baseline_p99)} | ${fmt(r.ratio)} | ${r.target} | ${verdict(r)} |`,
    );
  }
  const notes = rows.filter((r) => r.note);
  if (notes.length) {
    md.push('', '## Notes', '');
    for (const r of notes) md.push(`- **${r.name}**: ${r.note}`);
  }
  if (meta.analysis) md.push('', meta.analysis.trim());
  await writeFile(RESULTS_MD, md.join('\n') + '\n');
  // Aligned the way `npm run lint` wants it, so a fresh run can be committed as it is.
  const biome = spawnSync(join(REPO, 'node_modules/.bin/biome'), ['format', '--write', RESULTS_MD], { encoding: 'utf8' });
  if (biome.status !== 0) console.warn(`bench: could not format RESULTS.md (run npm run format): ${biome.stderr || biome.error?.message}`);
}
