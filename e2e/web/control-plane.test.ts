/**
 * Control plane down, data plane up, as the dashboard shows it: while the registry restarts, the
 * browsers keep their DataChannel (the edge stays drawn and chat still works), the dashboard says
 * its registry data may be out of date, and it goes live again by itself when the registry returns.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, until, topologyOf, type WebStack } from './helpers.ts';
import { chatText, say } from './dashboard.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

const linked = async (p: Page, self: string, other: string) =>
  (await topologyOf(p)).edges.some((e) => e.path !== 'http' && ((e.a === self && e.b === other) || (e.a === other && e.b === self)));

test('a registry restart leaves the browsers linked and the dashboard recovers by itself', async () => {
  const a = await openSignedIn(stack, stack.registry.adminKey);
  const b = await openSignedIn(stack, stack.registry.adminKey);
  await until('the browsers to link', async () => (await linked(a.page, a.peerId, b.peerId)) && (await linked(b.page, b.peerId, a.peerId)), 45_000, 250);
  await a.page.locator(`[data-testid=agent-row][data-agent="echo@${b.peerId}"]`).waitFor({ timeout: 30_000 });

  await stack.registry.stop();
  await a.page.locator('.banner-stale').waitFor({ timeout: 20_000 });
  // The DataChannel does not depend on the registry: still drawn, still carrying chat.
  assert.ok(await linked(a.page, a.peerId, b.peerId), 'the link was torn down with the control plane');
  await a.page.getByTestId('chat-target').selectOption({ label: `echo@${b.peerId} on ${b.peerId}` });
  await say(a.page, 'registry is down');
  await until('an answer over the DataChannel', async () => /You said: registry is down/.test(await chatText(a.page)), 20_000);

  await stack.registry.restart();
  const up = Date.now();
  await a.page.locator('.banner-stale').waitFor({ state: 'detached', timeout: 60_000 });
  const live = Date.now() - up;
  console.log(`# the dashboard was live again ${live} ms after the registry answered`);
  assert.ok(live < 8000, `the dashboard stayed stale ${live} ms after the registry returned`);
  await until('signaling to come back', async () => (await a.page.locator('.who-text', { hasText: 'in the mesh' }).count()) > 0, 30_000);
  assert.ok(await linked(a.page, a.peerId, b.peerId));
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});
