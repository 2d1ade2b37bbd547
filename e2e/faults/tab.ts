// Browser peers for the fault lab: Debian's Chromium started inside a lab host's network
// namespace (so cuts and partitions hit it like any host), loading the tab page the registry serves
// at the hub address. `TabProbe` offers the part of IpcProbe the Ledger uses, so a tab's worker
// agent is accounted for exactly like a sidecar's agent.
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchChromium } from '../browser.ts';
import type { PeerEvent } from '../../mesh/protocol/index.ts';
import type { LabHost } from './netns.ts';
import type { LedgerProbe } from './ledger.ts';
import type { PageToWorker, WorkerToPage } from './tab/messages.ts';
import { ProbeEvents } from './probe-events.ts';

declare const faultTab: {
  start(peerId: string, apiKey: string, probeType: string): Promise<void>;
  tell(m: PageToWorker): void;
  drain(): WorkerToPage[];
  links(): string[];
  linkEvents(): Array<{ peer: string; state: string; at: number }>;
  connectionId(peer: string): string | undefined;
  paths(): Promise<Record<string, string>>;
};

const HERE = fileURLToPath(new URL('./tab/', import.meta.url));

/** Bundles the tab page and its worker into `dir` (what the registry serves as WEB_DIST_DIR). */
export async function buildTabPage(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [entry, out] of [
    ['page.ts', 'tab-page.js'],
    ['worker.ts', 'tab-worker.js'],
  ] as const) {
    await build({
      entryPoints: [join(HERE, entry)],
      outfile: join(dir, out),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
  }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>fault tab</title><script src="/tab-page.js"></script>');
}

/**
 * Memory of a process and all its descendants, in MiB (a browser is many processes): the sum of
 * their proportional set sizes, so pages the processes share are counted once.
 */
export function treeMemMb(root: number): number | undefined {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  if (!parent.has(root)) return undefined;
  let kb = 0;
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    while (p && p !== root) p = parent.get(p);
    if (p !== root) continue;
    try {
      kb += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return Math.round((kb / 1024) * 10) / 10;
}

export interface TabBrowser {
  browser: Browser;
  /** memory of the whole browser (all its processes, shared pages counted once), MiB */
  memMb(): number | undefined;
}

/**
 * Launches Chromium inside `host`'s namespace: Playwright talks to it over a pipe, which the
 * `ip netns exec` wrapper passes through. `origin` (the registry at the hub address, plain HTTP) is
 * marked secure so the page has WebCrypto, as it would on HTTPS or localhost.
 */
export async function launchTabBrowser(dir: string, host: LabHost, origin: string): Promise<TabBrowser> {
  const wrapper = join(dir, `chromium-${host.name}.sh`);
  const pidFile = join(dir, `chromium-${host.name}.pid`);
  writeFileSync(wrapper, `#!/bin/sh\necho $$ > '${pidFile}'\nexec ip netns exec '${host.ns}' '${CHROMIUM_PATH}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await launchChromium({ executablePath: wrapper, args: [`--unsafely-treat-insecure-origin-as-secure=${origin}`] });
  const pid = Number(readFileSync(pidFile, 'utf8'));
  return { browser, memMb: () => treeMemMb(pid) };
}

/** One tab peer with its worker agent, driven through `window.faultTab`. */
export class TabProbe extends ProbeEvents implements LedgerProbe {
  private timer: ReturnType<typeof setInterval>;
  private draining = false;
  /** page errors and failed evaluations, for a failing test's diagnostics */
  readonly problems: string[] = [];

  private constructor(
    readonly page: Page,
    readonly peerId: string,
  ) {
    super();
    page.on('pageerror', (e) => this.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('crash', () => this.markClosed());
    page.on('close', () => this.markClosed());
    this.timer = setInterval(() => void this.drain(), 100);
  }

  /** Opens the tab page at `url` in `browser` and joins the mesh as `peerId`. */
  static async open(browser: Browser, url: string, peerId: string, apiKey: string, probeType: string): Promise<TabProbe> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(([p, k, t]) => faultTab.start(p, k, t), [peerId, apiKey, probeType] as const);
    return new TabProbe(page, peerId);
  }

  /** The worker agent sends `message` to `targetPeer` and reports its acknowledgement or error (keyed by request_id). */
  send(targetPeer: string, message: { type: string; request_id?: string; target_agent?: string; payload?: unknown }): boolean {
    const body = (message.payload as { body?: unknown } | undefined)?.body;
    // Big bodies are made in the worker instead of crossing the DevTools pipe.
    const fill = typeof body === 'string' && body.length > 1024 && body === body[0]!.repeat(body.length) ? { char: body[0]!, bytes: body.length } : undefined;
    this.tell({
      ctl: 'send',
      to: targetPeer,
      id: message.request_id!,
      type: message.type,
      targetAgent: message.target_agent,
      ...(fill ? { fill } : { body: typeof body === 'string' ? body : '' }),
    });
    return true;
  }

  /** Blocks the worker agent's thread for `ms` (a busy agent reads nothing meanwhile); resolves when it is free again. */
  stall(ms: number): Promise<void> {
    this.tell({ ctl: 'stall', ms });
    return new Promise((resolve) => this.stallDone.push(resolve));
  }
  private stallDone: (() => void)[] = [];

  links(): Promise<string[]> {
    return this.page.evaluate(() => faultTab.links());
  }
  linkEvents(): Promise<Array<{ peer: string; state: string; at: number }>> {
    return this.page.evaluate(() => faultTab.linkEvents());
  }
  connectionId(peer: string): Promise<string | undefined> {
    return this.page.evaluate((p) => faultTab.connectionId(p), peer);
  }
  paths(): Promise<Record<string, string>> {
    return this.page.evaluate(() => faultTab.paths());
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.page
      .context()
      .close()
      .catch(() => {});
    this.markClosed();
  }

  private tell(m: PageToWorker): void {
    if (this.closed) return;
    this.page.evaluate((x) => faultTab.tell(x), m).catch((e) => this.problems.push(`tell: ${String(e)}`));
  }

  /** Pulls what the worker reported and hands it on as IPC-shaped events. */
  private async drain(): Promise<void> {
    if (this.draining || this.closed) return;
    this.draining = true;
    try {
      const evs = await this.page.evaluate(() => faultTab.drain());
      for (const e of evs) {
        if (e.ev === 'stalled') this.stallDone.shift()?.();
        const ev = toPeerEvent(e);
        if (ev) this.emitEvent(ev);
      }
    } catch (e) {
      if (!this.closed) this.problems.push(`drain: ${String(e)}`);
    } finally {
      this.draining = false;
    }
  }

  protected override markClosed(): void {
    clearInterval(this.timer);
    super.markClosed();
  }
}

function toPeerEvent(e: WorkerToPage): PeerEvent | undefined {
  switch (e.ev) {
    case 'ack':
      return { type: 'ack', payload: { ack_id: e.id, confirmed: 'peer' } } as PeerEvent;
    case 'message':
      return { type: 'message', payload: { from_peer: e.from, message: { type: e.type, ...(e.request_id && { request_id: e.request_id }) } } } as PeerEvent;
    case 'error':
      return { type: 'error', payload: { code: e.code, message: e.message, ...(e.request_id && { request_id: e.request_id }) } } as PeerEvent;
    default:
      return undefined;
  }
}
