import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, forgeToken } from './test-support.ts';

let r: RegistryProcess;
before(async () => {
  r = await startRegistry();
});
after(async () => r?.stop());

test('first start: admin.key and signing.key are 0600; the admin key gets an admin token', async () => {
  for (const f of ['admin.key', 'signing.key']) assert.equal(statSync(join(r.dataDir, f)).mode & 0o777, 0o600, f);
  assert.match(r.output(), /admin\.key/);
  const res = await api(r.url, 'POST', '/api/token', { apiKey: r.adminKey });
  assert.equal(res.status, 200);
  assert.equal(res.body.role, 'admin');
  assert.equal(res.body.peer_id, 'admin');
  assert.ok(res.body.expires_in > 0);
});

test('no default keys: the Rust dev key and missing/unknown keys are 401', async () => {
  for (const key of ['ak_dev_001', 'nope-nope-nope', '']) {
    const res = await api(r.url, 'POST', '/api/token', key ? { apiKey: key } : {});
    assert.equal(res.status, 401, key);
    assert.equal(res.body.error.code, 'unauthorized');
  }
});

test('admin token accepts a chosen peer_id; an agent key is bound to its own', async () => {
  const res = await api(r.url, 'POST', '/api/token', { apiKey: r.adminKey, body: { peer_id: 'web-3f9a' } });
  assert.equal(res.body.peer_id, 'web-3f9a');
  const key = await r.issueApiKey('agent-bound');
  const own = await api(r.url, 'POST', '/api/token', { apiKey: key });
  assert.equal(own.body.peer_id, 'agent-bound');
  assert.equal(own.body.role, 'agent');
  const other = await api(r.url, 'POST', '/api/token', { apiKey: key, body: { peer_id: 'someone-else' } });
  assert.equal(other.status, 403);
  // An admin may not take an agent's identity either.
  const taken = await api(r.url, 'POST', '/api/token', { apiKey: r.adminKey, body: { peer_id: 'agent-bound' } });
  assert.equal(taken.status, 409);
  const bad = await api(r.url, 'POST', '/api/token', { apiKey: r.adminKey, body: { peer_id: '<script>' } });
  assert.equal(bad.status, 400);
});

test('keys: create, list without secrets, delete; agents cannot manage keys', async () => {
  const admin = await r.token(r.adminKey);
  const created = await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'k-one', role: 'agent' } });
  assert.equal(created.status, 201);
  assert.match(created.body.key, /^ak_/);
  const list = await api(r.url, 'GET', '/api/keys', { token: admin });
  assert.ok(list.body.some((k: { peer_id: string }) => k.peer_id === 'k-one'));
  assert.ok(!JSON.stringify(list.body).includes(created.body.key));
  assert.ok(list.body.some((k: { peer_id: string; source: string }) => k.peer_id === 'admin' && k.source === 'admin_file'));
  const agentTok = await r.token(created.body.key);
  assert.equal((await api(r.url, 'GET', '/api/keys', { token: agentTok })).status, 403);
  assert.equal((await api(r.url, 'POST', '/api/keys', { token: agentTok, body: { peer_id: 'x', role: 'admin' } })).status, 403);
  assert.equal((await api(r.url, 'GET', '/api/keys')).status, 401);
  assert.equal((await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'x', role: 'root' } })).status, 400);
  assert.equal((await api(r.url, 'POST', '/api/keys', { token: admin, body: { peer_id: 'admin' } })).status, 409);
  assert.equal((await api(r.url, 'DELETE', '/api/keys/k-one', { token: admin })).status, 200);
  assert.equal((await api(r.url, 'POST', '/api/token', { apiKey: created.body.key })).status, 401);
  assert.equal((await api(r.url, 'DELETE', '/api/keys/k-one', { token: admin })).status, 404);
  const audit = await api(r.url, 'GET', '/api/audit', { token: admin });
  const actions = audit.body.map((e: { action: string }) => e.action);
  assert.ok(actions.includes('key.create') && actions.includes('key.delete'));
  assert.equal((await api(r.url, 'GET', '/api/registry/agents', { token: agentTok })).status, 401, 'a deleted key takes its JWTs with it');
});

test('JWT refusals: none, bad signature, expired, alg none, wrong role, malformed header', async () => {
  const path = '/api/registry/agents';
  assert.equal((await api(r.url, 'GET', path)).status, 401);
  const expired = await forgeToken(r, { sub: 'admin', role: 'admin', iat: 1000, exp: 2000 });
  const forged = await forgeToken(r, { sub: 'admin', role: 'admin', exp: '5m' }, { key: 'another-secret-of-32-characters!!' });
  const none = await forgeToken(r, { sub: 'admin', role: 'admin', exp: 9999999999 }, { unsigned: true });
  const badRole = await forgeToken(r, { sub: 'admin', role: 'root', exp: '5m' });
  for (const [name, tok] of Object.entries({ expired, forged, none, badRole, junk: 'a.b.c' })) {
    const res = await api(r.url, 'GET', path, { token: tok });
    assert.equal(res.status, 401, name);
    assert.equal(res.body.error.code, 'unauthorized');
  }
  assert.equal((await api(r.url, 'GET', path, { headers: { Authorization: 'Basic abc' } })).status, 401);
  const agent = await r.token(await r.issueApiKey('jwt-agent'));
  assert.equal((await api(r.url, 'GET', '/api/audit', { token: agent })).status, 403);
  assert.equal((await api(r.url, 'GET', path, { token: agent })).status, 200);
});

test('agent routes accept X-API-Key directly (the Python agents send it)', async () => {
  const key = await r.issueApiKey('py-agent');
  const hb = await api(r.url, 'POST', '/api/hub/heartbeat', { apiKey: key, body: { agent_id: 'py-agent', skill_names: ['echo'] } });
  assert.equal(hb.status, 200);
  assert.deepEqual(hb.body.pending_tasks, []);
  assert.equal((await api(r.url, 'GET', '/api/registry/agents/py-agent', { apiKey: key })).body.agent_id, 'py-agent');
  assert.equal((await api(r.url, 'GET', '/api/registry/agents', { apiKey: 'wrong-key-123' })).status, 401);
});

test('ADMIN_API_KEY overrides admin.key; API_KEYS_FILE works in the Rust and the bare format; token rate limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'));
  const rust = join(dir, 'rust.json');
  writeFileSync(rust, JSON.stringify({ keys: { ak_rust_format_1: { peer_id: 'rust-peer', role: 'agent' } } }));
  const bare = join(dir, 'bare.json');
  writeFileSync(bare, JSON.stringify({ ak_bare_format_1: { peer_id: 'bare-peer', role: 'admin' } }));
  const adminKey = 'automation-admin-key-0123456789';
  const r2 = await startRegistry({ env: { ADMIN_API_KEY: adminKey, API_KEYS_FILE: rust, RATE_TOKEN_PER_MIN: '4' } });
  try {
    assert.equal(r2.adminKey, adminKey);
    assert.equal((await api(r2.url, 'POST', '/api/token', { apiKey: adminKey })).body.role, 'admin');
    const rp = await api(r2.url, 'POST', '/api/token', { apiKey: 'ak_rust_format_1' });
    assert.deepEqual([rp.body.peer_id, rp.body.role], ['rust-peer', 'agent']);
    let limited = 0;
    for (let i = 0; i < 6; i++) if ((await api(r2.url, 'POST', '/api/token', { apiKey: adminKey })).status === 429) limited++;
    assert.ok(limited >= 3, `expected 429s, got ${limited}`);
  } finally {
    await r2.stop();
  }
  const r3 = await startRegistry({ env: { API_KEYS_FILE: bare } });
  try {
    const bp = await api(r3.url, 'POST', '/api/token', { apiKey: 'ak_bare_format_1' });
    assert.deepEqual([bp.body.peer_id, bp.body.role], ['bare-peer', 'admin']);
  } finally {
    await r3.stop();
  }
  writeFileSync(bare, '{broken');
  await assert.rejects(startRegistry({ env: { API_KEYS_FILE: bare }, timeoutMs: 20_000 }), /API_KEYS_FILE/);
});

test('a second registry on the same data dir refuses to start (the embedded store would corrupt)', async () => {
  await assert.rejects(startRegistry({ dataDir: r.dataDir, timeoutMs: 20_000 }), /another registry \(pid \d+\) is using/);
  assert.equal((await api(r.url, 'GET', '/healthz')).status, 200);
});
