/** One shared Chromium for the run (launched on first use) and one static server for bench pages. */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../browser.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';
import { bundle, page } from './bundle.ts';
import { REPO } from './proc.ts';
import { join } from 'node:path';

let browser: Promise<Browser> | undefined;
let server: Promise<StaticServer> | undefined;

export function chromium(): Promise<Browser> {
  browser ??= launchChromium();
  return browser;
}

/** Serves the bare peer page, the PeerJS page (client bundled from node_modules/peerjs) and our mesh-core page + worker agent. */
export function benchServer(): Promise<StaticServer> {
  server ??= (async () => {
    const [bare, peerjs, ours, oursWorker] = await Promise.all([
      bundle('e2e/bench/bare/browser-peer.ts'),
      bundle('e2e/bench/browser/peerjs-page.ts'),
      bundle('e2e/bench/ours/browser-page.ts'),
      bundle('e2e/bench/ours/worker-agent.ts'),
    ]);
    return startStaticServer(
      {
        '/bare.js': bare,
        '/bare.html': page('/bare.js'),
        '/peerjs-page.js': peerjs,
        '/peerjs.html': page('/peerjs-page.js'),
        '/ours.js': ours,
        '/ours.html': page('/ours.js'),
        '/ours-worker.js': oursWorker,
      },
      { '/node_modules/peerjs/': join(REPO, 'node_modules/peerjs') },
    );
  })();
  return server;
}

/** Opens a page in a fresh context (its own renderer, as a separate tab of a separate user would be). */
export async function openPage(url: string): Promise<Page> {
  const b = await chromium();
  const ctx = await b.newContext();
  const p = await ctx.newPage();
  p.on('pageerror', (e) => {
    if (process.env.BENCH_DEBUG) console.error('[page error]', e.message);
  });
  await p.goto(url);
  return p;
}

export async function closePage(p: Page): Promise<void> {
  await p
    .context()
    .close()
    .catch(() => {});
}

export async function shutdownBrowser(): Promise<void> {
  const b = browser;
  browser = undefined;
  const s = server;
  server = undefined;
  await Promise.all([b?.then((x) => x.close()).catch(() => {}), s?.then((x) => x.close()).catch(() => {})]);
}
