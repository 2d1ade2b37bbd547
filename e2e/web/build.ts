/**
 * Builds the PWA once when dist/ is missing or older than any file under web/ (or vite.config.ts).
 * Several test files call it; a lock directory keeps two runs from building at the same time.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = join(REPO, 'dist');
const SOURCES = [join(REPO, 'web'), join(REPO, 'mesh'), join(REPO, 'vite.config.ts')];

function newest(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const name of readdirSync(p)) {
    if (name === 'node_modules' || name.endsWith('.test.ts')) continue;
    m = Math.max(m, newest(join(p, name)));
  }
  return m;
}

export function distIsStale(): boolean {
  const index = join(DIST, 'index.html');
  if (!existsSync(index) || !existsSync(join(DIST, 'sw.js'))) return true;
  const built = statSync(index).mtimeMs;
  return SOURCES.some((s) => existsSync(s) && newest(s) > built);
}

/** Runs `vite build` if dist/ is stale; returns the dist directory. */
export function ensureBuilt(): string {
  if (!distIsStale()) return DIST;
  const lock = join(REPO, 'node_modules', '.web-build.lock');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 120_000) rmSync(lock, { recursive: true, force: true });
      spawnSync('sleep', ['0.5']);
    }
  }
  try {
    if (distIsStale()) {
      const r = spawnSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
        cwd: REPO,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return DIST;
}
