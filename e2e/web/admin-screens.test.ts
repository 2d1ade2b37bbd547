/**
 * The admin's screens and the small things a new user trips over, in real Chromium against a real
 * registry: the API keys card (create, key shown once, list, delete — and the key really works and
 * then really stops working), an invite that says it was used instead of counting down, a skill
 * that does not compile (error beside the code, form stays open), badges with a shape, the phone's
 * section menu reaching Devices, a login text that does not name a path the registry may not use,
 * and a wrong key costing one token request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, until, watchErrors, PHONE, type WebStack } from './helpers.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';

let stack: WebStack;
before(async () => {
  stack = await startWebStack();
});
after(async () => {
  await stack?.close();
});

const tokenStatus = async (key: string) => (await fetch(`${stack.registry.url}/api/token`, { method: 'POST', headers: { 'X-API-Key': key } })).status;

test('the API keys card creates a key shown once, lists it, and deletes it', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  admin.page.on('dialog', (d) => void d.accept());
  const card = admin.page.getByTestId('keys');
  await card.waitFor({ timeout: 15_000 });
  await card.locator('input[name=key-peer-id]').fill('pi-garage');
  await card.getByRole('button', { name: 'Create key' }).click();
  const secret = (await card.getByTestId('key-secret').textContent({ timeout: 15_000 }))!.trim();
  assert.match(secret, /^ak_/);
  assert.match((await card.getByTestId('key-created').textContent()) ?? '', /not shown again/);
  assert.equal(await tokenStatus(secret), 200, 'the key from the dashboard signs in');
  await card.locator('[data-testid=key-row][data-peer=pi-garage]').waitFor();
  assert.equal(await card.locator('[data-testid=key-row][data-peer=admin]').count(), 1, 'the admin key is listed, without its secret');

  // Once: after a reload the secret is nowhere on the page.
  await admin.page.reload();
  await card.locator('[data-testid=key-row][data-peer=pi-garage]').waitFor({ timeout: 30_000 });
  assert.equal(await card.getByTestId('key-secret').count(), 0);
  assert.ok(!(await admin.page.content()).includes(secret), 'the secret is shown again');

  await card.locator('[data-testid=key-row][data-peer=pi-garage]').getByRole('button', { name: 'Delete' }).click();
  await card.locator('[data-testid=key-row][data-peer=pi-garage]').waitFor({ state: 'detached', timeout: 15_000 });
  assert.equal(await tokenStatus(secret), 401, 'a deleted key is refused');
  assert.deepEqual(admin.errors, []);
  await admin.context.close();
});

test('an invite says it was used instead of counting down once a device used its code', async () => {
  const admin = await openSignedIn(stack, stack.registry.adminKey);
  await admin.page.getByRole('button', { name: 'Add a device' }).click();
  const code = (await admin.page.getByTestId('invite-code').textContent({ timeout: 15_000 }))!.trim();
  await new RegistryClient({ baseUrl: stack.registry.url }).pair({ code, agent_name: 'Kitchen tablet' });
  await admin.page.getByTestId('invite-used').waitFor({ timeout: 15_000 });
  assert.match((await admin.page.getByTestId('invite').textContent()) ?? '', /was used by Kitchen tablet/);
  assert.equal(await admin.page.getByTestId('invite-qr').count(), 0, 'the used QR is still on screen');
  assert.doesNotMatch((await admin.page.getByTestId('invite').textContent()) ?? '', /Valid for/);
  await admin.context.close();
});

test('phone: a skill that does not compile shows its error beside the code and the form stays open; the menu reaches Devices; badges have a shape', async () => {
  const { context, page, errors } = await openSignedIn(stack, stack.registry.adminKey, PHONE);
  const echo = page.locator('[data-testid=local-agent][data-agent=echo]');
  await page.locator('[data-testid=local-agent][data-agent=echo][data-status=running]').waitFor({ timeout: 30_000 });
  await echo.getByRole('button', { name: 'Add skill' }).click();
  const form = page.getByRole('form', { name: 'Add a skill to echo' });
  await form.getByTestId('skill-name').fill('broken');
  await form.getByTestId('skill-code').fill('(args) => { return args.a +; }');
  await form.getByRole('button', { name: 'Add skill' }).click();
  const alert = form.getByRole('alert');
  await alert.waitFor({ timeout: 15_000 });
  assert.match((await alert.textContent()) ?? '', /Skill broken not added: /);
  assert.ok(await form.isVisible(), 'the form closed on an error');
  const box = (await alert.boundingBox())!;
  assert.ok(box.y >= 0 && box.y + box.height <= PHONE.height, `the error is off-screen (y=${box.y})`);
  assert.equal(await page.locator('.notice-error').count(), 0, 'the error went to the top of the page instead');

  const badge = page.locator('[data-testid=keys] .badge').first();
  await badge.waitFor({ timeout: 15_000 });
  const style = await badge.evaluate((el) => {
    const s = getComputedStyle(el);
    return { radius: parseFloat(s.borderTopLeftRadius), padX: parseFloat(s.paddingLeft) };
  });
  assert.ok(style.radius > 0 && style.padX > 0, `a badge without a base style: ${JSON.stringify(style)}`);

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Devices' }).click();
  await until(
    'Devices on screen',
    async () => {
      const b = await page.getByTestId('devices').boundingBox();
      return b && b.y < PHONE.height && b.y + b.height > 0;
    },
    5000,
  );
  assert.deepEqual(errors, []);
  await context.close();
});

test('the login text names the data directory setting, not a fixed path; a wrong key costs one token request', async () => {
  const context = await stack.browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors = watchErrors(page);
  const tokenRequests: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/token') tokenRequests.push(r.method());
  });
  await page.goto(stack.registry.url);
  const text = (await page.locator('.login-card').textContent()) ?? '';
  assert.doesNotMatch(text, /\.mesh-data\/admin\.key/, 'the registry here keeps its key elsewhere (MESH_DATA_DIR)');
  assert.match(text, /MESH_DATA_DIR/);
  await page.locator('#credential').fill('ak_wrong');
  await page.getByRole('button', { name: 'Sign in and join' }).click();
  await page.getByRole('alert').waitFor({ timeout: 15_000 });
  assert.deepEqual(tokenRequests, ['POST']);
  assert.deepEqual(errors, []);
  await context.close();
});
