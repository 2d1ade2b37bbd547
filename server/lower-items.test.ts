/**
 * The lower findings of the security review, each on a real registry process: socket caps that
 * could be raced or held by one token, control characters in names, security headers on the
 * page, data dir and CA key modes, NUL / deep JSON / huge numbers answered 400, short-lived TURN
 * credentials, and a readable error for a too-short key in API_KEYS_FILE. (A cut-off surviving a
 * smaller TOKEN_TTL_S is in server/revocation.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, TestSocket } from './test-support.ts';

const running: RegistryProcess[] = [];
after(async () => {
  for (const r of running) await r.stop();
});
async function registry(env: Record<string, string> = {}, dataDir?: string): Promise<RegistryProcess> {
  const r = await startRegistry({ env, ...(dataDir && { dataDir }) });
  running.push(r);
  return r;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the unauthenticated-socket cap holds under concurrent upgrades; one token cannot hold many unregistered sockets', async () => {
  const r = await registry({ MAX_UNAUTHENTICATED_SOCKETS: '5' });
  const socks = await Promise.all(Array.from({ length: 30 }, () => TestSocket.open(r.wsUrl)));
  await sleep(500);
  const waiting = socks.filter((s) => !s.closeInfo && !s.frames.some((f) => f.type === 'error'));
  assert.ok(waiting.length <= 5, `${waiting.length} sockets wait for auth with a cap of 5`);
  for (const s of socks) s.close();

  const tok = await r.token(await r.issueApiKey('many-sockets'));
  const mine = await Promise.all(Array.from({ length: 10 }, () => TestSocket.open(r.wsUrl, { token: tok })));
  await sleep(500);
  const busy = mine.filter((s) => s.closeInfo?.code === 4008);
  assert.equal(busy.length, 6, `${busy.length} of 10 unregistered sockets of one token were refused`);
  // Registering frees a place.
  const kept = mine.filter((s) => !s.closeInfo);
  kept[0]!.send({ type: 'register', payload: {} });
  await kept[0]!.next('peer_list');
  const another = await TestSocket.open(r.wsUrl, { token: tok });
  await sleep(300);
  assert.equal(another.closeInfo, undefined, 'a place came free when one registered');
  for (const s of [...mine, another]) s.close();
});

test('names with control characters are refused; input bytes cannot forge log lines', async () => {
  const r = await registry();
  const tok = await r.token(await r.issueApiKey('ctl'));
  const hb = await api(r.url, 'POST', '/api/hub/heartbeat', {
    token: tok,
    body: { agent_id: 'a@ctl', skill_names: ['ok', 'bad\n2026-01-01T00:00:00.000Z INFO forged'] },
  });
  assert.equal(hb.status, 400, JSON.stringify(hb.body));
  const task = await api(r.url, 'POST', '/api/hub/tasks', { token: tok, body: { skill: 'x\u0007y', payload: {} } });
  assert.equal(task.status, 400);
  // An error line about bad input keeps it on one line (the client address is the only input logged there).
  const bad = await api(r.url, 'POST', '/api/pairing/pair', { body: { code: '000000', agent_name: 'line1\nINFO forged' } });
  assert.equal(bad.status, 401);
  assert.ok(!/^INFO forged/m.test(r.output()), 'no forged line in the log');
});

test('the page carries CSP (frame-ancestors none), nosniff and Referrer-Policy; API answers nosniff', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'chatixia-dist-'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>t</title><div id=root></div>');
  const r = await registry({ WEB_DIST_DIR: dist });
  for (const path of ['/', '/devices']) {
    const res = await fetch(r.url + path);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.match(csp, /script-src 'self'(;|$)/, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  }
  const health = await fetch(r.url + '/healthz');
  assert.equal(health.headers.get('x-content-type-options'), 'nosniff');
});

test('an existing data dir is set to 0700 and ca.jwk (the CA private key) to 0600 at start', async () => {
  const r = await registry();
  await r.stop();
  chmodSync(r.dataDir, 0o755);
  chmodSync(join(r.dataDir, 'ca.jwk'), 0o644);
  await r.restart();
  const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
  assert.equal(mode(r.dataDir), '700');
  assert.equal(mode(join(r.dataDir, 'ca.jwk')), '600');
  assert.equal(mode(join(r.dataDir, 'admin.key')), '600');
});

test('NUL bytes, JSON nested thousands deep and ?before=1e400 are answered 400, not 500', async () => {
  const r = await registry();
  const tok = await r.token(r.adminKey);
  const nul = await api(r.url, 'POST', '/api/hub/tasks', { token: tok, rawBody: '{"skill":"s","payload":{"t":"a\\u0000b"}}' });
  assert.equal(nul.status, 400, JSON.stringify(nul.body));
  const nulKey = await api(r.url, 'POST', '/api/hub/tasks', { token: tok, rawBody: '{"skill":"s","payload":{"a\\u0000":1}}' });
  assert.equal(nulKey.status, 400);
  const deep = await api(r.url, 'POST', '/api/hub/tasks', { token: tok, rawBody: `{"skill":"s","payload":${'['.repeat(5000)}${']'.repeat(5000)}}` });
  assert.equal(deep.status, 400, JSON.stringify(deep.body));
  assert.match(deep.body.error.message, /nested deeper than 64/);
  for (const q of ['1e400', '-1', 'abc', '1.5']) assert.equal((await api(r.url, 'GET', `/api/audit?before=${q}`, { token: tok })).status, 400, q);
  assert.equal((await api(r.url, 'GET', '/api/audit?before=5', { token: tok })).status, 200);
});

test('TURN credentials last TURN_TTL_S (1 h by default, was 24 h), so a revoked peer loses the relay within the hour', async () => {
  const r = await registry({ TURN_URL: 'turn:127.0.0.1:3478', TURN_SECRET: 'turn-secret-for-test' });
  const tok = await r.token(await r.issueApiKey('turn-peer'));
  const cfg = await api(r.url, 'GET', '/api/config', { token: tok });
  const turn = cfg.body.iceServers.find((s: { username?: string }) => s.username);
  const expiry = Number(turn.username.split(':')[0]);
  const left = expiry - Date.now() / 1000;
  assert.ok(left > 3500 && left <= 3601, `credential valid ${Math.round(left)} s`);
});

test('API_KEYS_FILE with a key shorter than 8 characters: the start stops naming the entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatixia-keys-'));
  const file = join(dir, 'keys.json');
  writeFileSync(file, JSON.stringify({ keys: { 'long-enough-key': { peer_id: 'fine', role: 'agent' }, short: { peer_id: 'pi-lab', role: 'agent' } } }));
  await assert.rejects(startRegistry({ env: { API_KEYS_FILE: file } }), (e: Error) => {
    assert.match(e.message, /API_KEYS_FILE .*keys\.json: the key "sh…" \(for peer_id pi-lab\) is 5 characters; keys need at least 8/);
    assert.doesNotMatch(e.message, /short"/, 'the key itself is not printed');
    return true;
  });
});
