/** One row of the results table, and the helpers that turn measurements into rows. */
import { round, type Summary } from './stats.ts';

export interface Row {
  /** Scenario id (what `npm run bench -- <substring>` matches) */
  scenario: string;
  name: string;
  unit: string;
  /** Median of ours; null when not measured (see note). */
  ours: number | null;
  /** Median of the baseline measured in the same run; null when the row has no baseline. */
  baseline: number | null;
  /** ours / baseline; null when either is missing. */
  ratio: number | null;
  /** The scenario's target, as text. */
  target: string;
  /** Whether ours meets the target; null when it could not be decided. */
  met: boolean | null;
  ours_p99?: number | null;
  baseline_p99?: number | null;
  /** Sample counts, chunk sizes, retries, spreads: whatever explains the number. */
  details?: Record<string, unknown>;
  /** Why a value is missing or what to keep in mind reading it. */
  note?: string;
  measured_at: string;
}

export type Check =
  | { kind: 'ratio-max'; max: number } // ours / baseline <= max (lower is better)
  | { kind: 'ratio-min'; min: number } // ours / baseline >= min (higher is better)
  | { kind: 'abs-max'; max: number } // ours <= max
  | { kind: 'abs-min'; min: number } // ours >= min
  | { kind: 'diff-max'; max: number } // ours - baseline < max
  | { kind: 'info' } // no target
  | { kind: 'all'; checks: Check[] }; // every one of them

export function targetText(c: Check, unit: string): string {
  switch (c.kind) {
    case 'ratio-max':
      return c.max === 1 ? 'faster than baseline' : `≤ ${c.max}× baseline`;
    case 'ratio-min':
      return c.min === 1 ? '≥ baseline' : `≥ ${c.min}× baseline`;
    case 'abs-max':
      return `≤ ${c.max} ${unit}`;
    case 'abs-min':
      return `≥ ${c.min} ${unit}`;
    case 'diff-max':
      return `adds < ${c.max} ${unit}`;
    case 'info':
      return '—';
    case 'all':
      return c.checks.map((x) => targetText(x, unit)).join(' and ');
  }
}

function meets(c: Check, ours: number | null, base: number | null): boolean | null {
  if (ours === null || !Number.isFinite(ours)) return null;
  const ratio = base !== null && base !== 0 && Number.isFinite(base) ? ours / base : null;
  switch (c.kind) {
    case 'ratio-max':
      return ratio === null ? null : c.max === 1 ? ratio < 1 : ratio <= c.max;
    case 'ratio-min':
      return ratio === null ? null : ratio >= c.min;
    case 'abs-max':
      return ours <= c.max;
    case 'abs-min':
      return ours >= c.min;
    case 'diff-max':
      return base === null ? null : ours - base < c.max;
    case 'info':
      return null;
    case 'all': {
      const rs = c.checks.map((x) => meets(x, ours, base));
      return rs.includes(false) ? false : rs.includes(null) ? null : true;
    }
  }
}

export interface RowInput {
  scenario: string;
  name: string;
  unit: string;
  check: Check;
  ours: number | Summary | null;
  baseline: number | Summary | null;
  details?: Record<string, unknown>;
  note?: string;
}

const mid = (v: number | Summary | null) => (v === null ? null : typeof v === 'number' ? v : v.p50);
const p99 = (v: number | Summary | null) => (v === null || typeof v === 'number' ? undefined : v.p99);

export function row(i: RowInput): Row {
  const ours = mid(i.ours),
    base = mid(i.baseline);
  const r: Row = {
    scenario: i.scenario,
    name: i.name,
    unit: i.unit,
    ours: ours === null ? null : round(ours),
    baseline: base === null ? null : round(base),
    ratio: ours !== null && base !== null && base !== 0 ? round(ours / base) : null,
    target: targetText(i.check, i.unit),
    met: meets(i.check, ours, base),
    measured_at: new Date().toISOString(),
  };
  const op = p99(i.ours),
    bp = p99(i.baseline);
  if (op !== undefined) r.ours_p99 = round(op);
  if (bp !== undefined) r.baseline_p99 = round(bp);
  if (i.details) r.details = i.details;
  if (i.note) r.note = i.note;
  return r;
}

/** A row whose "ours" could not be measured: the baseline stays, the reason is said, nothing is faked. */
export function notMeasured(i: Omit<RowInput, 'ours'>, reason: string): Row {
  return row({ ...i, ours: null, note: `not measured (${reason})${i.note ? '; ' + i.note : ''}` });
}
