/**
 * Worker agents in the tab: a skill typed in the app runs inside its agent's worker, a runaway
 * skill (an infinite loop) is terminated without freezing the page and the agent restarts, and
 * chat with a browser agent streams its answer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, until, type WebStack } from './helpers.ts';
import { chatText, dispatch, recordReplySteps, say } from './dashboard.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

async function addSkill(page: Page, agentId: string, name: string, code: string, timeoutMs: number) {
  const card = page.locator(`[data-testid=local-agent][data-agent="${agentId}"]`);
  await card.getByRole('button', { name: 'Add skill' }).click();
  await card.getByTestId('skill-name').fill(name);
  await card.getByTestId('skill-timeout').fill(String(timeoutMs));
  await card.getByTestId('skill-code').fill(code);
  await card.getByRole('button', { name: 'Add skill' }).last().click();
  await card.locator('.chip.custom', { hasText: name }).waitFor({ timeout: 15_000 });
  // The form closes once the skill is added (it stays open only on an error).
  await card.getByRole('form').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Dispatches from the task form and waits for the new row to finish. */
async function dispatchAndWait(page: Page, skill: string, args: unknown): Promise<{ state: string; tier: string; text: string }> {
  const before = await page.getByTestId('dispatch').count();
  await dispatch(page, skill, args);
  const row = page.getByTestId('dispatch').first();
  await until(
    'the dispatch to finish',
    async () => (await page.getByTestId('dispatch').count()) > before && /completed|failed/.test((await row.getAttribute('data-state')) ?? ''),
    30_000,
  );
  const result = row.getByTestId('dispatch-result');
  const text = (await result.count()) ? await result.textContent() : await row.locator('.error').textContent();
  return { state: (await row.getAttribute('data-state'))!, tier: (await row.getAttribute('data-tier'))!, text: text ?? '' };
}

test('a typed skill runs in the worker; a runaway skill is terminated, the page stays responsive, the agent restarts', async () => {
  const { context, page, errors, peerId } = await openSignedIn(stack, stack.registry.adminKey);
  const card = page.locator('[data-testid=local-agent][data-status=running]').first();
  await card.waitFor({ timeout: 30_000 });
  const agentId = (await card.getAttribute('data-agent'))!;

  await addSkill(page, agentId, 'add', '(args) => args.a + args.b', 2000);
  await addSkill(page, agentId, 'spin', '() => { for (;;) {} }', 2000);
  // wait until the registry lists the new skills (routing by skill goes through it)
  await page.locator(`[data-testid=agent-row][data-agent="${agentId}@${peerId}"] .chip.skill`, { hasText: 'spin' }).waitFor({ timeout: 30_000 });

  const ok = await dispatchAndWait(page, 'add', { a: 2, b: 3 });
  assert.equal(ok.state, 'completed');
  assert.equal(ok.tier, 'direct');
  assert.match(ok.text, /\b5\b/);

  // Measure the page's main thread while the skill spins in the worker.
  // (a string, so the test runner's transpiler adds no helpers the page does not have)
  const gaps = page.evaluate(`new Promise((resolve) => {
    let last = performance.now(), worst = 0;
    const end = last + 2500;
    function tick() {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
      if (now < end) setTimeout(tick, 10); else resolve(worst);
    }
    setTimeout(tick, 10);
  })`) as Promise<number>;
  const spun = await dispatchAndWait(page, 'spin', {});
  const worstGap = await gaps;
  assert.equal(spun.state, 'failed');
  assert.match(spun.text, /time limit/);
  // Had the loop run on the page's thread, the page would have stood still for the whole 2 s limit.
  assert.ok(worstGap < 1000, `the page's main thread stalled for ${worstGap.toFixed(0)} ms`);
  console.log(`# longest main-thread gap while a skill spun in its worker: ${worstGap.toFixed(0)} ms`);

  // The agent restarted (new worker) and its saved skills came back with it.
  await until(
    'the agent to be running again after a restart',
    async () => (await card.getAttribute('data-status')) === 'running' && /restarted 1/.test((await card.textContent()) ?? ''),
    20_000,
  );
  assert.match((await card.getByTestId('agent-error').textContent()) ?? '', /spin ran past its time limit/);
  const again = await dispatchAndWait(page, 'add', { a: 20, b: 22 });
  assert.equal(again.state, 'completed');
  assert.match(again.text, /\b42\b/);

  // A skill that does not compile is refused with a message and not added.
  await card.getByRole('button', { name: 'Add skill' }).click();
  await card.getByTestId('skill-name').fill('broken');
  await card.getByTestId('skill-code').fill('(args) => {');
  await card.getByRole('button', { name: 'Add skill' }).last().click();
  await page
    .getByRole('alert')
    .filter({ hasText: /broken/ })
    .waitFor({ timeout: 10_000 });
  assert.equal(await card.locator('.chip.custom', { hasText: 'broken' }).count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('chat with a browser agent streams the answer in pieces', async () => {
  const { context, page, peerId } = await openSignedIn(stack, stack.registry.adminKey);
  const agentId = `echo@${peerId}`;
  await page.locator(`[data-testid=agent-row][data-agent="${agentId}"]`).waitFor({ timeout: 30_000 });
  await page.getByTestId('chat-target').selectOption({ label: `${agentId} on ${peerId} (this browser)` });
  // Record every distinct text the reply bubble shows: a streamed answer grows in several steps.
  const replySteps = await recordReplySteps(page);
  await say(page, 'stream please');
  await until('the full answer', async () => /You said: stream please\..*Web Worker/.test(await chatText(page)), 20_000);
  const seen = await replySteps();
  assert.ok(seen.length >= 4, `the answer arrived in ${seen.length} step(s), expected a stream`);
  await context.close();
});
