/**
 * What a tab says after a reload, in real Chromium against a real registry: a dispatch that was in
 * flight does not stay "running" forever; a task queued for this browser's own agent runs once its
 * worker is back (not before, with "no agent has skill"); and with the registry down, the tab's own
 * agents run, its identity line stays true, a skill it has runs at once instead of being queued,
 * and it is back in the mesh within seconds of the registry (probing /healthz, not a 30 s backoff).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, screenshot, until, untilSaved, untilServiceWorkerControls, PHONE, type WebStack } from './helpers.ts';
import { dispatch } from './dashboard.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

const running = (page: Page, id: string) => page.locator(`[data-testid=local-agent][data-agent="${id}"][data-status=running]`).waitFor({ timeout: 30_000 });

test('a dispatch in flight during a reload ends as interrupted, not "running" forever', async () => {
  const { context, page, errors } = await openSignedIn(stack, stack.registry.adminKey);
  await running(page, 'echo');
  const echo = page.locator('[data-testid=local-agent][data-agent=echo]');
  await echo.getByRole('button', { name: 'Add skill' }).click();
  await page.getByTestId('skill-name').fill('slow');
  await page.getByTestId('skill-timeout').fill('30000');
  await page.getByTestId('skill-code').fill('async () => { await new Promise((r) => setTimeout(r, 20000)); return "late"; }');
  await page.getByRole('form', { name: 'Add a skill to echo' }).getByRole('button', { name: 'Add skill' }).click();
  await echo.locator('.chip.skill', { hasText: 'slow' }).waitFor({ timeout: 15_000 });
  await dispatch(page, 'slow', {});
  await page.locator('[data-testid=dispatch][data-state=running]').waitFor({ timeout: 10_000 });
  await untilSaved(page, 'a dispatch is running', (s) => s.dispatches.some((d) => d.state === 'running'));
  await page.reload();
  await page.getByTestId('self-peer-id').waitFor({ timeout: 30_000 });
  const row = page.getByTestId('dispatch').first();
  await until('the dispatch to be marked interrupted', async () => (await row.getAttribute('data-state')) === 'failed', 10_000);
  assert.match((await row.textContent()) ?? '', /Interrupted: the page was reloaded/);
  // Still not running once the tab is back in the mesh.
  await page.locator('.who-text', { hasText: 'in the mesh' }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('[data-testid=dispatch][data-state=running]').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a task queued for this browser's own agent runs after a reload, once its worker is back", async () => {
  const { context, page, errors } = await openSignedIn(stack, stack.registry.adminKey);
  await page.getByRole('button', { name: '+ math agent' }).click();
  await running(page, 'math');
  await untilSaved(page, 'the math agent is kept', (s) => s.localAgents.some((a) => a.id === 'math'));
  // What the outbox holds after "Dispatch" was pressed offline (web/src/lib/outbox.ts).
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('chatixia');
        req.onsuccess = () => {
          const at = Date.now();
          const add = req.result
            .transaction('outbox', 'readwrite')
            .objectStore('outbox')
            .add({ action: { type: 'dispatch', target: { kind: 'skill', skill: 'sum' }, args: { numbers: [2, 3] }, queuedAt: at }, label: 'task sum', at });
          add.onsuccess = () => resolve();
          add.onerror = () => reject(add.error);
        };
        req.onerror = () => reject(req.error);
      }),
  );
  await page.reload();
  const done = page.locator('[data-testid=dispatch][data-state=completed]');
  await done.waitFor({ timeout: 30_000 });
  assert.equal((await done.getByTestId('dispatch-result').textContent())?.trim(), '5');
  assert.equal(await page.locator('[data-testid=dispatch][data-state=failed]').count(), 0, 'the queued task failed first');
  assert.doesNotMatch((await page.locator('.status-stack').textContent()) ?? '', /no agent has skill/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('phone, registry down, reload: own agents run, identity stays true, own skills run at once; back within seconds of the registry', async () => {
  const { context, page, errors } = await openSignedIn(stack, stack.registry.adminKey, PHONE);
  await page.getByRole('button', { name: '+ math agent' }).click();
  await running(page, 'math');
  await until('the device identity line', async () => /Device identity: /.test((await page.getByTestId('identity').textContent()) ?? ''), 20_000);
  await untilSaved(page, 'the math agent and the identity are kept', (s) => s.localAgents.some((a) => a.id === 'math') && Boolean(s.session.identity));
  await untilServiceWorkerControls(page);
  await page.locator('.who-text', { hasText: 'in the mesh' }).waitFor({ timeout: 30_000 });

  await stack.registry.stop();
  const down = Date.now();
  await page.reload();
  await page.getByTestId('self-peer-id').waitFor({ timeout: 15_000 });
  await running(page, 'echo');
  await running(page, 'math');
  assert.match((await page.getByTestId('identity').textContent()) ?? '', /Device identity: /);
  await dispatch(page, 'sum', { numbers: [2, 3] });
  const done = page.locator('[data-testid=dispatch][data-state=completed]');
  await done.waitFor({ timeout: 15_000 });
  assert.equal((await done.getByTestId('dispatch-result').textContent())?.trim(), '5');
  assert.equal(await page.getByTestId('outbox').count(), 0, 'a skill this browser has was queued');
  await page.locator('#local').evaluate((el) => {
    el.scrollIntoView({ block: 'start' });
    window.scrollBy(0, -70);
  }); // below the sticky header
  await screenshot(page, 'offline-tab-phone');

  // Down long enough that a doubling backoff would be waiting 16 s or more.
  await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - down))));
  await stack.registry.restart();
  const up = Date.now();
  await page.locator('.who-text', { hasText: 'in the mesh' }).waitFor({ timeout: 60_000 });
  const ms = Date.now() - up;
  console.log(`# back in the mesh ${ms} ms after the registry answered`);
  assert.ok(ms < 8000, `back in the mesh only ${ms} ms after the registry returned`);
  assert.deepEqual(errors, []);
  await context.close();
});
