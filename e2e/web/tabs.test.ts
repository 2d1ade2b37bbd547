/**
 * One peer per browser, not per tab: a second tab mirrors the first (Web Locks + BroadcastChannel)
 * instead of joining as a second peer, forwards its actions to it, takes over when it closes, and
 * a reload rejoins quickly under the same peer id.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, until, watchErrors, type WebStack } from './helpers.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

async function signalingPeers(): Promise<string[]> {
  const token = await stack.registry.token(stack.registry.adminKey);
  const r = await fetch(`${stack.registry.url}/api/hub/network/topology`, { headers: { Authorization: `Bearer ${token}` } });
  return ((await r.json()) as { signaling_peers: string[] }).signaling_peers;
}

const inMesh = (p: Page) => p.locator('.who-text', { hasText: 'in the mesh' });

test('a second tab mirrors the first instead of becoming a second peer, and takes over when it closes', async () => {
  const { context, page: first, peerId, errors } = await openSignedIn(stack, stack.registry.adminKey);
  await inMesh(first).waitFor({ timeout: 30_000 });
  await first.locator('[data-testid=local-agent][data-status=running]').first().waitFor({ timeout: 30_000 });

  const second = await context.newPage();
  const errors2 = watchErrors(second);
  await second.goto(stack.registry.url);
  // Same identity, shown as mirrored, without a second sign-in.
  await second.locator('.who-text', { hasText: 'mirrored from another tab' }).waitFor({ timeout: 15_000 });
  assert.equal((await second.getByTestId('self-peer-id').textContent())?.trim(), peerId);
  await second.locator('[data-testid=local-agent]').first().waitFor({ timeout: 10_000 });

  // The registry still sees exactly one peer for this browser, and the first tab was not replaced.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(
    (await signalingPeers()).filter((p) => p.startsWith('web-')),
    [peerId],
  );
  await inMesh(first).waitFor({ timeout: 1000 });

  // An action in the mirror runs in the tab that holds the peer.
  await second.getByRole('button', { name: '+ math agent' }).click();
  await first.locator('[data-testid=local-agent][data-agent="math"][data-status=running]').waitFor({ timeout: 20_000 });

  // Closing the leader hands the peer to the mirror, under the same id.
  await first.close();
  await until(
    'the second tab to hold the peer',
    async () => !(await second.locator('.who-text').textContent())?.includes('mirrored') && (await inMesh(second).count()) > 0,
    30_000,
  );
  assert.equal((await second.getByTestId('self-peer-id').textContent())?.trim(), peerId);
  await until('the registry to list the peer again', async () => (await signalingPeers()).includes(peerId), 20_000);
  // its worker agents came along (restored from IndexedDB)
  await second.locator('[data-testid=local-agent][data-agent="math"][data-status=running]').waitFor({ timeout: 20_000 });

  // A reload rejoins quickly (the registry replaces the old socket of the same peer id).
  const t0 = Date.now();
  await second.reload();
  await inMesh(second).waitFor({ timeout: 30_000 });
  const rejoinMs = Date.now() - t0;
  console.log(`# reload → back in the mesh: ${rejoinMs} ms`);
  assert.ok(rejoinMs < 5000, `rejoining after a reload took ${rejoinMs} ms`);
  assert.equal((await second.getByTestId('self-peer-id').textContent())?.trim(), peerId);
  assert.deepEqual([...errors, ...errors2], []);
  await context.close();
});
