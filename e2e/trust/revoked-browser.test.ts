/**
 * A revoked phone, seen from both sides, in real Chromium against a real registry: the phone says
 * in plain words that it was removed, offers to pair again and stops every retry (no heartbeat,
 * token, probe or socket afterwards), and says so again after a reload; the admin's dashboard drops
 * its agents at once and stops offering them for chat and dispatch.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, watchErrors, until, topologyOf, screenshot, PHONE, type WebStack } from '../web/helpers.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

test('a revoked phone says so, offers to pair again and goes quiet; the admin stops offering its agents', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  admin.page.on('dialog', (d) => void d.accept());
  await admin.page.getByRole('button', { name: 'Add a device' }).click();
  const code = (await admin.page.getByTestId('invite-code').textContent({ timeout: 15_000 }))!.trim();

  const context = await stack.browser.newContext({ viewport: PHONE });
  const phone = await context.newPage();
  const errors = watchErrors(phone);
  await phone.goto(`${stack.registry.url}/pair?code=${code}`);
  await phone.locator('#pair-name').fill("Anna's phone");
  await phone.getByRole('button', { name: 'Pair' }).click();
  const row = admin.page.locator('[data-testid=device][data-status=pending_approval]');
  await row.waitFor({ timeout: 15_000 });
  const phonePeer = (await row.getAttribute('data-peer'))!;
  await row.getByRole('button', { name: 'Approve' }).click();
  await phone.getByTestId('self-peer-id').waitFor({ timeout: 30_000 });

  // The admin sees the phone's agent and chats with it.
  const phoneAgent = `echo@${phonePeer}`;
  await admin.page.locator(`[data-testid=agent-row][data-agent="${phoneAgent}"]`).waitFor({ timeout: 30_000 });
  await admin.page.getByTestId('chat-target').selectOption({ label: `${phoneAgent} on ${phonePeer}` });

  // Revoke; from the moment the phone says so, it sends nothing more.
  const after: string[] = [];
  let quietFrom = 0;
  phone.on('request', (r) => {
    if (quietFrom) after.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  phone.on('websocket', (ws) => {
    if (quietFrom) after.push(`websocket ${ws.url()}`);
  });
  const t0 = Date.now();
  await admin.page.locator(`[data-testid=device][data-peer="${phonePeer}"][data-status=approved]`).getByRole('button', { name: 'Revoke' }).click();

  const revoked = phone.getByTestId('revoked');
  await revoked.waitFor({ timeout: 10_000 });
  quietFrom = Date.now();
  console.log(`# the phone said it was revoked ${quietFrom - t0} ms after the click`);
  const text = (await revoked.textContent()) ?? '';
  assert.match(text, /This device was removed from the mesh/);
  assert.match(text, /will not try to reconnect/);
  assert.match(text, new RegExp(`device ${phonePeer} was revoked by an admin`));
  assert.doesNotMatch(text, /sign in again|Sign out/i);
  assert.ok(await phone.getByRole('button', { name: 'Pair again' }).isVisible());
  assert.equal(await phone.getByTestId('self-peer-id').count(), 0, 'the phone still draws itself in the mesh');
  assert.equal(await phone.locator('[data-testid=topology-node]').count(), 0);
  await screenshot(phone, 'revoked-phone');

  // The admin: its agents leave at once; chat and dispatch no longer offer them.
  await until(
    "the phone's agents gone from the admin's list",
    async () =>
      (await admin.page.locator(`[data-testid=agent-row][data-peer="${phonePeer}"], [data-testid=agent-row][data-agent="${phoneAgent}"]`).count()) === 0,
    5000,
  );
  console.log(`# its agents left the admin's dashboard ${Date.now() - t0} ms after the click`);
  await admin.page.getByTestId('chat-gone').waitFor({ timeout: 5000 });
  assert.ok(await admin.page.locator('#chat-input').isDisabled(), 'chat still offered to a revoked agent');
  const chatOptions = await admin.page.getByTestId('chat-target').locator('option:not([disabled])').allTextContents();
  assert.ok(!chatOptions.some((o) => o.includes(phonePeer)), `chat offers ${chatOptions.join(', ')}`);
  await admin.page.getByLabel('a chosen agent').check();
  const taskOptions = await admin.page.getByTestId('task-agent').locator('option').allTextContents();
  assert.ok(!taskOptions.some((o) => o.includes(phonePeer)), `dispatch offers ${taskOptions.join(', ')}`);
  await until('the phone gone from the topology', async () => !(await topologyOf(admin.page)).nodes.includes(phonePeer), 10_000);
  await admin.page.getByTestId('chat-gone').scrollIntoViewIfNeeded();
  await screenshot(admin.page, 'revoked-admin');

  // Quiet: longer than a heartbeat (15 s), a /healthz probe (2–4 s) and a signaling backoff.
  await new Promise((r) => setTimeout(r, 17_000));
  assert.deepEqual(after, [], 'the revoked phone kept talking to the registry');

  // A reload says the same, without a login form or a "Reconnecting…" banner, and Pair again leads to pairing.
  await phone.reload();
  await revoked.waitFor({ timeout: 15_000 });
  assert.equal(await phone.locator('#credential').count(), 0);
  assert.equal(await phone.locator('.banner-stale').count(), 0);
  assert.doesNotMatch((await phone.locator('body').textContent()) ?? '', /Reconnecting|refused this key/);
  await phone.getByRole('button', { name: 'Pair again' }).click();
  await phone.locator('#pair-code').waitFor({ timeout: 15_000 });
  assert.deepEqual(errors, []);
  assert.deepEqual(admin.errors, []);
  await context.close();
  await admin.context.close();
});
