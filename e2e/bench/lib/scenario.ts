import type { Row } from './result.ts';

export interface Ctx {
  /** One progress line on stderr (prefixed with elapsed time and the scenario). */
  progress(msg: string): void;
}

export interface Scenario {
  /** What `npm run bench -- <substring>` matches. */
  id: string;
  title: string;
  /** Watchdog: the scenario is reported as failed after this many seconds (default 240). */
  maxSeconds?: number;
  run(ctx: Ctx): Promise<Row[]>;
}
