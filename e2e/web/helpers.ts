/**
 * Shared pieces of the PWA tests: a real registry serving a fresh build of the app, Debian's
 * Chromium, signing in through the login form, condition waits, screenshots, the tab's saved
 * snapshot and its service worker.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../browser.ts';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { ensureBuilt, REPO } from './build.ts';
import type { Mirrored } from '../../web/src/state/store.ts';

export const SCREENSHOTS = join(REPO, 'e2e', 'screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1440, height: 900 };

export interface WebStack {
  registry: RegistryProcess;
  browser: Browser;
  close(): Promise<void>;
}

/** Builds the app if needed, starts a real registry serving it and a Chromium. */
export async function startWebStack(env: Record<string, string> = {}): Promise<WebStack> {
  const dist = ensureBuilt();
  const registry = await startRegistry({ env: { WEB_DIST_DIR: dist, ...env } });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (e) {
    await registry.stop();
    throw e;
  }
  return {
    registry,
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      await registry.stop().catch(() => {});
    },
  };
}

/** Collects page errors so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (process.env.DEBUG_WEB) page.on('console', (m) => console.log(`[page ${m.type()}]`, m.text()));
  return errors;
}

/** Opens the app in a new context and signs in with `key`; resolves with the page and its peer id. */
export async function openSignedIn(
  stack: WebStack,
  key: string,
  viewport = DESKTOP,
): Promise<{ context: BrowserContext; page: Page; peerId: string; errors: string[] }> {
  const context = await stack.browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(stack.registry.url);
  await signIn(page, key);
  const peerId = (await page.getByTestId('self-peer-id').textContent())!.trim();
  return { context, page, peerId, errors };
}

export async function signIn(page: Page, key: string): Promise<void> {
  await page.locator('#credential').fill(key);
  await page.getByRole('button', { name: 'Sign in and join' }).click();
  await page.getByTestId('self-peer-id').waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => /^web-|^[\w.:@-]+$/.test(document.querySelector('[data-testid=self-peer-id]')?.textContent ?? ''), null, {
    timeout: 30_000,
  });
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function until<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Saves a screenshot to e2e/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** The topology's nodes and edges as the page draws them (`path: 'http'` = no DataChannel, registry fallback). */
export async function topologyOf(page: Page): Promise<{ nodes: string[]; edges: Array<{ a: string; b: string; path: string }> }> {
  return page.evaluate(() => ({
    nodes: [...document.querySelectorAll('[data-testid=topology-node]')].map((n) => n.getAttribute('data-peer') ?? ''),
    edges: [...document.querySelectorAll('[data-testid=topology-edge]')].map((e) => ({
      a: e.getAttribute('data-a') ?? '',
      b: e.getAttribute('data-b') ?? '',
      path: e.getAttribute('data-path') ?? '',
    })),
  }));
}

/** What the tab saves for offline use (web/src/peer/snapshot.ts): the mirrored state less what is per tab. */
export type SavedState = Omit<Mirrored, 'notices' | 'outbox' | 'online' | 'stale'>;

/** A value the app keeps in its IndexedDB key-value store (web/src/lib/idb.ts); undefined when there is none. */
export function storedValue<T>(page: Page, key: string): Promise<T | undefined> {
  return page.evaluate(
    (k) =>
      new Promise<T | undefined>((resolve, reject) => {
        const req = indexedDB.open('chatixia');
        req.onsuccess = () => {
          try {
            const get = req.result.transaction('kv').objectStore('kv').get(k);
            get.onsuccess = () => resolve(get.result);
            get.onerror = () => reject(get.error);
          } catch (err) {
            reject(err); // no kv store yet: the app has not opened its database
          }
        };
        req.onerror = () => reject(req.error);
      }),
    key,
  );
}

/** The state the tab last saved, or null before its first save. */
export async function savedState(page: Page): Promise<SavedState | null> {
  return (await storedValue<{ state: SavedState }>(page, 'snapshot'))?.state ?? null;
}

/** Waits until the saved state satisfies `holds`, checked here (the page's CSP allows no eval). */
export function untilSaved(page: Page, what: string, holds: (state: SavedState) => boolean): Promise<SavedState> {
  return until(
    `a saved snapshot where ${what}`,
    async () => {
      const state = await savedState(page);
      return state !== null && holds(state) ? state : undefined;
    },
    20_000,
    250,
  );
}

/** Reloads until the service worker controls the page (the load that installed it is not controlled). */
export async function untilServiceWorkerControls(page: Page): Promise<void> {
  await until(
    'the page to be controlled by the service worker',
    async () => {
      await page.reload();
      return page.evaluate(() => Boolean(navigator.serviceWorker.controller));
    },
    20_000,
    500,
  );
}
