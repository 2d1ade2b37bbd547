/**
 * Scenario 7: the PWA's first-load JavaScript (gzipped) and its time to interactive in Chromium.
 * Builds web/ with vite into a temp folder (so the numbers are the current source, and dist/ of
 * other engineers is left alone); falls back to dist/ if the build fails.
 */
import { mkdtemp, readFile, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import type { Scenario } from '../lib/scenario.ts';
import { row, notMeasured, type Row } from '../lib/result.ts';
import { summarize, round } from '../lib/stats.ts';
import { REPO } from '../lib/proc.ts';
import { startStaticServer } from '../lib/static-server.ts';
import { chromium } from '../lib/chromium.ts';

const TTI_REPS = 5;

function viteBuild(outDir: string): Promise<string | null> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
    });
    const t = setTimeout(() => {
      p.kill('SIGKILL');
    }, 180000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve(code === 0 ? null : `vite build exited ${code}: ${err.slice(-300)}`);
    });
  });
}

/** Scripts the browser must fetch before the app runs: module entry, modulepreloads, classic scripts. */
export function firstLoadScripts(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"[^>]*>/g)) out.push(m[1]!);
  for (const m of html.matchAll(/<link\b[^>]*rel="modulepreload"[^>]*href="([^"]+)"[^>]*>/g)) out.push(m[1]!);
  return [...new Set(out)];
}

export const bundleScenario: Scenario = {
  id: 'bundle',
  title: 'PWA first-load JavaScript (gzip) and time to interactive',
  async run(ctx) {
    const rows: Row[] = [];
    const tmp = await mkdtemp(join(tmpdir(), 'bench-dist-'));
    try {
      let dir = tmp;
      ctx.progress('vite build (temp folder)…');
      const buildErr = await access(join(REPO, 'web/index.html')).then(
        () => viteBuild(tmp),
        () => 'web/index.html is not in the tree',
      );
      let note: string | undefined;
      if (buildErr) {
        dir = join(REPO, 'dist');
        note = `measured the existing dist/ (${buildErr.split('\n')[0]})`;
      }
      let html: string;
      try {
        html = await readFile(join(dir, 'index.html'), 'utf8');
      } catch {
        const b = { scenario: 'bundle', unit: 'kB', baseline: null, check: { kind: 'abs-max', max: 200 } as const };
        return [notMeasured({ ...b, name: 'first-load JS (gzip)' }, buildErr ?? 'no dist/index.html')];
      }
      const files = firstLoadScripts(html);
      const sizes: Record<string, { raw: number; gzip: number }> = {};
      for (const f of files) {
        const buf = await readFile(join(dir, f.replace(/^\//, '')));
        sizes[f] = { raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
      }
      const gz = Object.values(sizes).reduce((a, s) => a + s.gzip, 0);
      const peerjsGz = gzipSync(await readFile(join(REPO, 'node_modules/peerjs/dist/peerjs.min.js')), { level: 9 }).length;
      ctx.progress(`first-load JS ${round(gz / 1000)} kB gzipped over ${files.length} file(s)`);
      rows.push(
        row({
          scenario: 'bundle',
          name: 'first-load JS (gzip -9)',
          unit: 'kB',
          check: { kind: 'abs-max', max: 200 },
          ours: gz / 1000,
          baseline: null,
          details: { files: sizes, reference_peerjs_client_min_js_gzip_kB: round(peerjsGz / 1000), kB: '1000 bytes' },
          ...(note ? { note } : {}),
        }),
      );

      // time to interactive: navigation start → the app rendered into #root and the main thread runs a queued task
      const srv = await startStaticServer({}, { '/': dir }, 'index.html', false);
      const b = await chromium();
      const tti: number[] = [];
      try {
        for (let r = 0; r < TTI_REPS; r++) {
          const context = await b.newContext({ serviceWorkers: 'block' });
          const page = await context.newPage();
          await page.goto(srv.url + '/', { waitUntil: 'commit' });
          await page.waitForFunction(() => (document.getElementById('root')?.childElementCount ?? 0) > 0, null, { timeout: 30000 });
          tti.push(await page.evaluate(() => new Promise<number>((res) => setTimeout(() => res(performance.now()), 0))));
          await context.close();
        }
      } finally {
        await srv.close();
      }
      ctx.progress(`time to interactive p50 ${round(summarize(tti).p50)} ms`);
      rows.push(
        row({
          scenario: 'bundle',
          name: 'PWA time to interactive (Chromium, loopback, cold cache)',
          unit: 'ms',
          check: { kind: 'info' },
          ours: summarize(tti),
          baseline: null,
          details: { reps: TTI_REPS, measured: 'navigation start → #root rendered and a queued task ran; static server, no registry' },
        }),
      );
      return rows;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
};
