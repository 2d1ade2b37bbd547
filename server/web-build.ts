import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { log } from './log.ts';

/**
 * `npm start` on a fresh clone: build the PWA when dist/index.html is missing. A failed build
 * does not stop the registry; it serves a page saying how to build instead.
 */
export function buildWebIfMissing(distDir: string): void {
  if (existsSync(join(distDir, 'index.html'))) return;
  const root = process.cwd();
  if (resolve(root, 'dist') !== distDir || !existsSync(join(root, 'vite.config.ts'))) {
    log.warn(`no web app in ${distDir}; the registry runs without it`);
    return;
  }
  let viteBin: string;
  try {
    viteBin = join(createRequire(join(root, 'package.json')).resolve('vite/package.json'), '..', 'bin', 'vite.js');
  } catch {
    log.warn('vite is not installed; run npm install, then npm run build');
    return;
  }
  console.log('Building the web app (dist/index.html is missing): vite build …');
  const t0 = Date.now();
  const res = spawnSync(process.execPath, [viteBin, 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status === 0) console.log(`Web app built in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  else log.warn('vite build failed; the registry starts anyway (the dashboard shows how to build)');
}
