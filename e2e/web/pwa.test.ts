/**
 * The app is installable and works offline: a valid manifest with fetchable PNG icons of the
 * declared sizes, an active service worker, and — with the network cut — a reload that opens
 * from the cache, shows the last known mesh state marked offline, runs what this browser's own
 * agents can do at once, queues what needs another peer and delivers it when the network returns.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWebStack,
  openSignedIn,
  screenshot,
  until,
  untilSaved,
  untilServiceWorkerControls,
  PHONE,
  DESKTOP,
  watchErrors,
  type WebStack,
} from './helpers.ts';
import { chatText, say } from './dashboard.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'not a PNG');
  assert.equal(buf.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

test('the login screen renders at phone and desktop sizes', async () => {
  for (const [name, viewport] of [
    ['login-phone', PHONE],
    ['login-desktop', DESKTOP],
  ] as const) {
    const ctx = await stack.browser.newContext({ viewport });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await page.goto(stack.registry.url);
    await page.locator('#credential').waitFor();
    // nothing overflows horizontally at phone width
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
    await screenshot(page, name);
    assert.deepEqual(errors, []);
    await ctx.close();
  }
});

test('a wrong key is refused with a visible message and nothing is stored', async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(stack.registry.url);
  await page.locator('#credential').fill('not-a-real-key');
  await page.getByRole('button', { name: 'Sign in and join' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: 15_000 });
  assert.match((await alert.textContent()) ?? '', /refused|not valid/i);
  await page.reload();
  await page.locator('#credential').waitFor();
  await ctx.close();
});

test('the manifest validates and its icons are real PNGs of the declared sizes', async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(stack.registry.url);
  const href = await page.locator('link[rel=manifest]').getAttribute('href');
  assert.ok(href, 'no <link rel=manifest>');
  const res = await fetch(new URL(href, stack.registry.url));
  assert.equal(res.status, 200);
  const m = (await res.json()) as Record<string, unknown> & { icons: Array<{ src: string; sizes: string; type: string; purpose?: string }> };
  assert.equal(typeof m.name, 'string');
  assert.ok((m.short_name as string).length > 0 && (m.short_name as string).length <= 12, 'short_name should fit under an icon');
  assert.equal(m.display, 'standalone');
  assert.equal(m.start_url, '/');
  assert.match(String(m.theme_color), /^#[0-9a-f]{6}$/i);
  assert.match(String(m.background_color), /^#[0-9a-f]{6}$/i);
  const sizes = new Set(m.icons.map((i) => i.sizes));
  assert.ok(sizes.has('192x192') && sizes.has('512x512'), 'icons 192 and 512 are required');
  assert.ok(
    m.icons.some((i) => i.purpose?.split(' ').includes('maskable')),
    'a maskable icon is required',
  );
  for (const icon of m.icons) {
    const r = await fetch(new URL(icon.src, stack.registry.url));
    assert.equal(r.status, 200, `${icon.src} not fetchable`);
    assert.equal(r.headers.get('content-type'), 'image/png');
    const { width, height } = pngSize(Buffer.from(await r.arrayBuffer()));
    assert.equal(`${width}x${height}`, icon.sizes, `${icon.src} is ${width}x${height}, declared ${icon.sizes}`);
  }
  await ctx.close();
});

test('the service worker activates, and offline the app opens from cache with the last known state', async () => {
  const { context, page, peerId, errors } = await openSignedIn(stack, stack.registry.adminKey, PHONE);
  // The built-in echo agent starts on first sign-in and shows up through the registry's event stream.
  const agentId = `echo@${peerId}`;
  await page.locator(`[data-testid=agent-row][data-agent="${agentId}"]`).waitFor({ timeout: 30_000 });
  const other = await openSignedIn(stack, stack.registry.adminKey);
  const otherAgent = `echo@${other.peerId}`;
  await page.locator(`[data-testid=agent-row][data-agent="${otherAgent}"]`).waitFor({ timeout: 30_000 });
  const state = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
  assert.equal(state, 'activated');
  // the last known state is saved (IndexedDB) within a couple of seconds
  await untilSaved(
    page,
    'both echo agents are listed',
    (s) => s.registry.agents.filter((a) => a.agent_id.startsWith('echo@')).length === 2 && s.registry.agents.some((a) => a.agent_id === agentId),
  );
  await untilServiceWorkerControls(page);

  await context.setOffline(true);
  const resp = await page.reload();
  assert.ok(resp?.fromServiceWorker(), 'the reloaded page did not come from the service worker');
  const banner = page.getByTestId('offline-banner');
  await banner.waitFor({ timeout: 15_000 });
  assert.match((await banner.textContent()) ?? '', /offline/i);
  // the saved mesh state is still on screen
  await page.locator(`[data-testid=agent-row][data-agent="${agentId}"]`).waitFor({ timeout: 10_000 });
  assert.equal((await page.getByTestId('self-peer-id').textContent())?.trim(), peerId);

  // This browser's own agent answers offline at once: it runs here.
  await page.getByTestId('chat-target').selectOption({ label: `${agentId} on ${peerId} (this browser)` });
  await say(page, 'hello from here');
  await until('the own agent to answer offline', async () => /You said: hello from here/.test(await chatText(page)), 20_000);
  assert.equal(await page.getByTestId('outbox').count(), 0);

  // A message for another browser's agent is queued (visibly), then delivered when the network returns.
  await page.getByTestId('chat-target').selectOption({ label: `${otherAgent} on ${other.peerId}` });
  await say(page, 'hello while offline');
  await page.getByTestId('outbox').waitFor({ timeout: 10_000 });
  assert.match((await page.getByTestId('outbox').textContent()) ?? '', /1 action/);
  assert.match((await page.getByTestId('msg-me').last().textContent()) ?? '', /hello while offline/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'offline-phone');

  await context.setOffline(false);
  await page.getByTestId('outbox').waitFor({ state: 'detached', timeout: 30_000 });
  await until('the queued message to be answered', async () => /You said: hello while offline/.test(await chatText(page)), 30_000);
  assert.deepEqual([...errors, ...other.errors], []);
  await other.context.close();
  await context.close();
});

test('an agent API key signs in under its own peer id', async () => {
  const key = await stack.registry.issueApiKey('phone-anna');
  const { context, peerId } = await openSignedIn(stack, key, PHONE);
  assert.equal(peerId, 'phone-anna');
  await context.close();
});

test('the install button appears when the browser offers installation and calls its prompt', async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(stack.registry.url);
  await page.locator('#credential').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Install app' }).count(), 0);
  // Headless Chromium never decides to offer installation itself, so the test plays the browser.
  await page.evaluate(`(() => {
    const e = new Event('beforeinstallprompt', { cancelable: true });
    e.prompt = () => { window.__prompted = true; return Promise.resolve(); };
    e.userChoice = Promise.resolve({ outcome: 'accepted' });
    window.dispatchEvent(e);
  })()`);
  await page.getByRole('button', { name: 'Install app' }).click();
  assert.equal(await page.evaluate('window.__prompted'), true);
  await page.getByRole('button', { name: 'Install app' }).waitFor({ state: 'detached' });
  await ctx.close();
});
