/**
 * Finding 6 on real registry processes: guessing a pairing code from many addresses. A live code
 * dies after PAIRING_MAX_WRONG_ATTEMPTS (10) wrong attempts, wrong attempts from all addresses
 * together are limited per minute (RATE_PAIRING_WRONG_PER_MIN), every failed attempt is in the
 * audit log, and X-Forwarded-For only counts with TRUST_PROXY.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { RegistryClient } from '../mesh/registry-client.ts';

const running: RegistryProcess[] = [];
after(async () => {
  for (const r of running) await r.stop();
});

/** POST /api/pairing/pair from a chosen loopback address (and X-Forwarded-For, if given). */
function pair(r: RegistryProcess, from: string, code: string, forwardedFor?: string): Promise<{ status: number; body: any }> {
  const body = JSON.stringify({ code, agent_name: 'guesser' });
  return new Promise((res, rej) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: r.port,
        path: '/api/pairing/pair',
        method: 'POST',
        localAddress: from,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...(forwardedFor && { 'X-Forwarded-For': forwardedFor }) },
      },
      (resp) => {
        let text = '';
        resp.on('data', (d) => (text += d));
        resp.on('end', () => res({ status: resp.statusCode!, body: JSON.parse(text) }));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}
const wrong = (right: string, i: number) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');

test('40 addresses cannot add up guesses: the code dies after 10 wrong attempts, then the global limit stops everyone; failures are audited', async () => {
  const r = await startRegistry();
  running.push(r);
  const admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
  const { code } = await admin.generatePairingCode();
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await pair(r, `127.0.0.${10 + i}`, wrong(code, i))).status);
  assert.deepEqual(statuses, Array(12).fill(401));
  const late = await pair(r, '127.0.0.99', code);
  assert.equal(late.status, 401, `the right code still paired after 12 wrong attempts: ${JSON.stringify(late.body)}`);
  assert.equal(late.body.error.code, 'invalid_code');
  // The global budget (20 wrong a minute) stops fresh addresses too.
  let limitedAt = 0;
  for (let i = 0; i < 40 && !limitedAt; i++) if ((await pair(r, `127.0.1.${i + 1}`, wrong(code, 100 + i))).status === 429) limitedAt = i + 1;
  assert.ok(limitedAt > 0 && limitedAt <= 8, `the global limit answered 429 after ${limitedAt} more attempts (13 wrong ones before)`);
  // A new code is not guessable either while the budget is spent; the admin sees who tried.
  const fresh = await admin.generatePairingCode();
  assert.equal((await pair(r, '127.0.2.1', fresh.code)).status, 429);
  const failed = (await admin.audit()).filter((e) => e.action === 'pairing.failed');
  assert.ok(failed.length >= 20, `${failed.length} failed attempts audited`);
  assert.ok(new Set(failed.map((e) => e.detail.ip)).size >= 14, 'with their addresses');
  assert.ok(
    failed.some((e) => Number(e.detail.codes_burned) === 1),
    'and the attempt that killed the code',
  );
});

test('X-Forwarded-For is ignored unless TRUST_PROXY says a proxy sets it', async () => {
  const plain = await startRegistry({ env: { RATE_PAIRING_PER_MIN: '3' } });
  running.push(plain);
  const a = [];
  for (let i = 0; i < 4; i++) a.push((await pair(plain, '127.0.3.1', '000000', `10.0.0.${i}`)).status);
  assert.deepEqual(a, [401, 401, 401, 429], 'a forged header does not buy new per-address budgets');
  const proxied = await startRegistry({ env: { RATE_PAIRING_PER_MIN: '3', TRUST_PROXY: '1' } });
  running.push(proxied);
  const b = [];
  for (let i = 0; i < 4; i++) b.push((await pair(proxied, '127.0.3.1', '000000', `10.0.0.${i}`)).status);
  assert.deepEqual(b, [401, 401, 401, 401], 'behind a trusted proxy each client has its own budget');
  // Only the hop the proxy appended counts: a client-supplied prefix changes nothing.
  const c = [];
  for (let i = 0; i < 4; i++) c.push((await pair(proxied, '127.0.3.1', '000000', `6.6.6.${i}, 10.0.0.77`)).status);
  assert.deepEqual(c, [401, 401, 401, 429]);
  const audit = await new RegistryClient({ baseUrl: proxied.url, apiKey: proxied.adminKey }).audit();
  assert.ok(
    audit.some((e) => e.action === 'pairing.failed' && e.detail.ip === '10.0.0.77'),
    'the audit names the client, not the proxy',
  );
});
