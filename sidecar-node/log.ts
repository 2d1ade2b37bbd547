import type { Logger } from '../mesh/types.ts';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** Logs to stderr with a timestamp; lines below `level` are dropped. */
export function makeLogger(level: keyof typeof LEVELS): Logger {
  const min = LEVELS[level];
  const out =
    (lvl: keyof typeof LEVELS) =>
    (msg: string, ...rest: unknown[]) => {
      if (LEVELS[lvl] < min) return;
      const extra = rest.length ? ' ' + rest.map((r) => (r instanceof Error ? r.message : typeof r === 'string' ? r : JSON.stringify(r))).join(' ') : '';
      process.stderr.write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra}\n`);
    };
  return { debug: out('debug'), info: out('info'), warn: out('warn'), error: out('error') };
}
