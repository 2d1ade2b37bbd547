/**
 * Pairing a browser by QR link / code end to end, in real Chromium against a real registry: the
 * admin invites in the dashboard, the phone waits for approval, the admin approves live, the phone
 * collects its token without reloading and joins the mesh with a proven identity; a rejected
 * request; a used code refused; peer-provided names shown as text; revocation from the dashboard
 * closes the admin's link to the phone within seconds; a non-admin gets no admin panels and the
 * registry refuses it the admin routes.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startWebStack, openSignedIn, watchErrors, until, topologyOf, screenshot, storedValue, PHONE, type WebStack } from '../web/helpers.ts';
import { RegistryClient, type RegistryError } from '../../mesh/registry-client.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

const HOSTILE = 'Phone <img src=x onerror="window.__pwned=1"><b>bold</b>';

async function invite(admin: Page): Promise<string> {
  await admin.getByRole('button', { name: 'Add a device' }).click();
  const code = (await admin.getByTestId('invite-code').textContent({ timeout: 15_000 }))!.trim();
  assert.match(code, /^\d{6}$/);
  return code;
}

async function openPairLink(code: string, name: string) {
  const context = await stack.browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${stack.registry.url}/pair?code=${code}`);
  assert.equal(await page.locator('#pair-code').inputValue(), code, 'the code comes from the link');
  await page.locator('#pair-name').fill(name);
  await page.getByRole('button', { name: 'Pair' }).click();
  return { context, page, errors };
}

test('pair a browser by the QR link: waiting → admin approves live → token without reload → joins the mesh with proofs; revoke closes the link', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  admin.page.on('dialog', (d) => void d.accept());
  await admin.page.getByTestId('devices').waitFor();
  const code = await invite(admin.page);
  const qr = await admin.page.getByTestId('invite-qr').getAttribute('src');
  assert.match(qr ?? '', /^data:image\/svg\+xml/, 'QR code rendered as SVG');

  const phone = await openPairLink(code, HOSTILE);
  await phone.page.getByTestId('pair-waiting').waitFor({ timeout: 15_000 });
  await screenshot(phone.page, 'pairing-phone-waiting');
  await phone.page.evaluate(() => {
    (window as unknown as { __marker: number }).__marker = 42;
  });

  // The request appears live at the admin; its name is text, not markup.
  const row = admin.page.locator('[data-testid=device][data-status=pending_approval]');
  await row.waitFor({ timeout: 15_000 });
  assert.equal((await row.getByTestId('device-name').textContent())?.trim(), HOSTILE);
  assert.equal(await row.locator('img, b').count(), 0);
  const phonePeer = (await row.getAttribute('data-peer'))!;
  await row.scrollIntoViewIfNeeded();
  await screenshot(admin.page, 'pairing-admin-pending');
  await row.getByRole('button', { name: 'Approve' }).click();

  // The phone signs in by itself, in the same page (no reload: the marker survives).
  await phone.page.getByTestId('self-peer-id').waitFor({ timeout: 30_000 });
  assert.equal((await phone.page.getByTestId('self-peer-id').textContent())?.trim(), phonePeer);
  assert.equal(await phone.page.evaluate(() => (window as unknown as { __marker?: number }).__marker), 42, 'no reload');
  const stored = String(await storedValue<string>(phone.page, 'credential'));
  assert.match(stored, /^dt_/, 'the device token is kept in IndexedDB');
  await until("the phone's device identity", async () => /Device identity: peer /.test((await phone.page.getByTestId('identity').textContent()) ?? ''), 20_000);

  // Admin tab and phone link up (both hold certificates: the link opened only after both proofs).
  const hasEdge = async () =>
    (await topologyOf(admin.page)).edges.some(
      (e) => (e.a === phonePeer || e.b === phonePeer) && (e.a === admin.peerId || e.b === admin.peerId) && e.path !== 'http',
    );
  await until('a DataChannel between the admin tab and the phone', hasEdge, 40_000);
  await until(
    'audit entries for the approval and the claim',
    async () => {
      const actions = await admin.page.locator('[data-testid=audit-entry]').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      return actions.some((a) => a?.includes('approve')) && actions.some((a) => a?.includes('claim'));
    },
    15_000,
  );
  assert.equal(await phone.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  assert.equal(await admin.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);

  // Revoke in the dashboard: the admin's link to the phone closes within seconds.
  const paired = admin.page.locator(`[data-testid=device][data-peer="${phonePeer}"][data-status=approved]`);
  await paired.waitFor({ timeout: 15_000 });
  const t0 = Date.now();
  await paired.getByRole('button', { name: 'Revoke' }).click();
  await until('the link to the revoked phone closed', async () => !(await hasEdge()), 15_000);
  const took = Date.now() - t0;
  assert.ok(took < 8000, `link gone after ${took} ms (stats refresh every 2 s)`);
  await admin.page.locator(`[data-testid=device][data-peer="${phonePeer}"][data-status=revoked]`).waitFor({ timeout: 10_000 });
  assert.deepEqual(admin.errors, []);
  assert.deepEqual(phone.errors, []);
  await phone.context.close();
  await admin.context.close();
});

test('a rejected request shows "rejected" on the device; a used code is refused', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  const code = await invite(admin.page);
  const phone = await openPairLink(code, 'uninvited');
  await phone.page.getByTestId('pair-waiting').waitFor({ timeout: 15_000 });
  const row = admin.page.locator('[data-testid=device][data-status=pending_approval]', { hasText: 'uninvited' });
  await row.getByRole('button', { name: 'Reject' }).click();
  await phone.page.getByTestId('pair-refused').waitFor({ timeout: 15_000 });
  assert.match((await phone.page.getByTestId('pair-refused').textContent()) ?? '', /rejected/);

  // Single use: the same code again is refused with a message.
  await phone.page.getByRole('button', { name: 'Try another code' }).click();
  await phone.page.getByRole('button', { name: 'Pair' }).click();
  await phone.page.getByTestId('pair-error').waitFor({ timeout: 15_000 });
  assert.match((await phone.page.getByTestId('pair-error').textContent()) ?? '', /code/i);
  await phone.context.close();
  await admin.context.close();
});

test('a non-admin sees no admin panels and the registry refuses it the admin routes', async () => {
  const key = await stack.registry.issueApiKey('plain-agent');
  const agent = await openSignedIn(stack, key);
  await agent.page.getByTestId('identity').waitFor();
  assert.equal(await agent.page.getByTestId('devices').count(), 0);
  assert.equal(await agent.page.getByTestId('audit').count(), 0);
  const client = new RegistryClient({ baseUrl: stack.registry.url, apiKey: key });
  for (const call of [
    () => client.generatePairingCode(),
    () => client.pendingPairings(),
    () => client.audit(),
    () => client.approvePairing('00000000-0000-0000-0000-000000000000'),
  ]) {
    await assert.rejects(call(), (e: RegistryError) => e.status === 403);
  }
  await agent.context.close();
});

test('a browser that trusted another registry CA is warned before the code is used, and can deliberately forget it', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  const code = await invite(admin.page);
  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', other.publicKey);
  const context = await stack.browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${stack.registry.url}/pair?code=${code}`);
  // As if this browser had paired with a registry that was since replaced.
  await page.evaluate(
    (jwk) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open('chatixia-identity', 1);
        req.onupgradeneeded = () => {
          req.result.createObjectStore('keys');
          req.result.createObjectStore('known_peers', { keyPath: 'peer_id' });
          req.result.createObjectStore('meta');
        };
        req.onsuccess = () => {
          const tx = req.result.transaction('meta', 'readwrite');
          tx.objectStore('meta').put(jwk, 'pinned_ca');
          tx.oncomplete = () => {
            req.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
        req.onerror = () => reject(req.error);
      }),
    { kty, crv, x, y },
  );
  await page.locator('#pair-name').fill('reinstalled-case');
  await page.getByRole('button', { name: 'Pair' }).click();
  await page.getByTestId('pair-ca-conflict').waitFor({ timeout: 15_000 });
  const client = new RegistryClient({ baseUrl: stack.registry.url, apiKey: stack.registry.adminKey });
  assert.equal(
    (await client.pendingPairings()).some((p) => p.agent_name === 'reinstalled-case'),
    false,
    'the code was not used',
  );

  await page.getByRole('button', { name: 'Forget the old registry' }).click();
  await until('the warning gone', async () => (await page.getByTestId('pair-ca-conflict').count()) === 0, 10_000);
  await page.getByRole('button', { name: 'Pair' }).click();
  await page.getByTestId('pair-waiting').waitFor({ timeout: 15_000 });
  await until('the request at the admin', async () => (await client.pendingPairings()).some((p) => p.agent_name === 'reinstalled-case'), 10_000);
  await context.close();
  await admin.context.close();
});
