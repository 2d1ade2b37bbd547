import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, registeredPeer, waitFor } from './test-support.ts';
import { RegistryClient, type RegistryError } from '../mesh/registry-client.ts';
import { generateKeyPair, publicJwkOf, jwkThumbprint } from '../mesh/identity/keys.ts';
import { verifyOwnCertificate } from '../mesh/identity/certificate.ts';

let r: RegistryProcess;
let admin: RegistryClient;

before(async () => {
  // Pairing rate limit high here; its own test below uses a registry with the default (5/min).
  r = await startRegistry({ env: { RATE_PAIRING_PER_MIN: '1000', PAIRING_CODE_TTL_S: '2' } });
  admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey, peerId: 'web-admin' });
});
after(async () => r?.stop());

const anon = () => new RegistryClient({ baseUrl: r.url });

test('pair → pending → approve → the device collects its token once, with a certificate for its key', async () => {
  const { code, expires_in } = await admin.generatePairingCode();
  assert.match(code, /^\d{6}$/);
  assert.equal(expires_in, 2);
  const pair = await api(r.url, 'GET', '/api/pairing/pending');
  assert.equal(pair.status, 401, 'pending list is admin only');
  const keys = await generateKeyPair(false);
  const jwk = await publicJwkOf(keys.publicKey);
  const device = await anon().pair({ code, agent_name: 'Phone of Ana', public_key: jwk });
  assert.equal(device.status, 'pending_approval');
  assert.match(device.peer_id, /^agent-[0-9a-f]{6}$/);
  assert.match(device.claim_secret, /^cs_/);
  // The code is single use.
  await assert.rejects(anon().pair({ code, agent_name: 'again' }), (e: RegistryError) => e.status === 401 && e.code === 'invalid_code');
  // Waiting: no token yet.
  const waiting = await anon().pairingStatus(device.id, device.claim_secret);
  assert.equal(waiting.status, 'pending_approval');
  assert.equal(waiting.device_token, undefined);
  const pending = await admin.pendingPairings();
  const entry = pending.find((p) => p.id === device.id)!;
  assert.equal(entry.agent_name, 'Phone of Ana');
  assert.equal(entry.key_id, await jwkThumbprint(jwk));
  // A non-admin cannot approve.
  const agent = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('some-agent') });
  await assert.rejects(agent.approvePairing(device.id), (e: RegistryError) => e.status === 403);
  await assert.rejects(anon().pairingStatus(device.id, 'cs_wrong'), (e: RegistryError) => e.status === 403);
  const approved = await admin.approvePairing(device.id);
  assert.equal(approved.status, 'approved');
  await assert.rejects(admin.approvePairing(device.id), (e: RegistryError) => e.status === 409);
  const first = await anon().pairingStatus(device.id, device.claim_secret);
  assert.equal(first.status, 'approved');
  assert.match(first.device_token!, /^dt_/);
  const own = await verifyOwnCertificate(first.registry_ca!.public_key_jwk, first.certificate!, { keyId: await jwkThumbprint(jwk), peerId: device.peer_id });
  assert.ok(own.ok, JSON.stringify(own));
  const second = await anon().pairingStatus(device.id, device.claim_secret);
  assert.equal(second.device_token, undefined, 'handed over exactly once');
  // The device token logs in as the device's peer id, with the agent role.
  const dev = new RegistryClient({ baseUrl: r.url, deviceToken: first.device_token! });
  await dev.token();
  assert.deepEqual(dev.peer, { peer_id: device.peer_id, role: 'agent' });
  assert.ok(Array.isArray(await dev.listAgents()));
  const audit = (await admin.audit()).map((e) => e.action);
  for (const a of ['pairing.code', 'pairing.request', 'pairing.approve', 'pairing.claim']) assert.ok(audit.includes(a), a);
});

test('reject: the device sees rejected and never gets a token; an expired code is refused', async () => {
  const { code } = await admin.generatePairingCode();
  const device = await anon().pair({ code, agent_name: 'intruder' });
  await admin.rejectPairing(device.id);
  const st = await anon().pairingStatus(device.id, device.claim_secret);
  assert.equal(st.status, 'rejected');
  assert.equal(st.device_token, undefined);
  await assert.rejects(admin.revokePairing(device.id), (e: RegistryError) => e.status === 409);
  const old = await admin.generatePairingCode();
  // Wait out the code's lifetime (PAIRING_CODE_TTL_S=2), then redeem it once: refused.
  await waitFor('code lifetime', () => Date.now() / 1000 > old.expires_at + 0.2, 8000);
  await assert.rejects(anon().pair({ code: old.code, agent_name: 'late' }), (e: RegistryError) => e.code === 'invalid_code');
  const bad = await api(r.url, 'POST', '/api/pairing/pair', { body: { code: '12ab56', agent_name: 'x' } });
  assert.equal(bad.status, 400);
  assert.equal(
    (
      await api(r.url, 'POST', '/api/pairing/pair', {
        body: { code: '123456', agent_name: 'x', public_key: { kty: 'EC', crv: 'P-256', x: 'short', y: 'short' } },
      })
    ).status,
    400,
  );
  assert.equal((await api(r.url, 'GET', '/api/pairing/zzzz/status', { headers: { 'X-Claim-Secret': 'x' } })).status, 404);
});

test('revoke: tokens refused, the signaling socket closes with 4003, other peers get peer_revoked', async () => {
  const { code } = await admin.generatePairingCode();
  const device = await anon().pair({ code, agent_name: 'laptop' });
  await admin.approvePairing(device.id);
  const { device_token } = await anon().pairingStatus(device.id, device.claim_secret);
  const dev = new RegistryClient({ baseUrl: r.url, deviceToken: device_token! });
  const devJwt = await dev.token();
  const watcherTok = await r.token(await r.issueApiKey('watcher'));
  const watcher = await registeredPeer(r.wsUrl, watcherTok, 'watcher');
  const d = await registeredPeer(r.wsUrl, devJwt, device.peer_id);
  await watcher.sock.next('peer_joined');
  await admin.revokePairing(device.id);
  assert.equal((await d.sock.closed).code, 4003);
  const revoked = await watcher.sock.next('peer_revoked');
  assert.equal(revoked.payload.peer_id, device.peer_id);
  assert.equal((await api(r.url, 'GET', '/api/registry/agents', { token: devJwt })).status, 401);
  assert.equal((await api(r.url, 'POST', '/api/token', { headers: { 'X-Device-Token': device_token! } })).status, 401);
  // And after a restart it stays revoked.
  watcher.sock.close();
  await r.restart();
  assert.equal((await api(r.url, 'POST', '/api/token', { headers: { 'X-Device-Token': device_token! } })).status, 401);
  assert.equal((await api(r.url, 'GET', '/api/registry/agents', { token: devJwt })).status, 401);
  const all = await admin.allPairings();
  assert.equal(all.find((p) => p.id === device.id)?.status, 'revoked');
  assert.ok((await admin.audit()).some((e) => e.action === 'pairing.revoke' && e.target === device.peer_id));
});

test('pairing requests reach the admin live over /api/events', async () => {
  const events: { type: string; data: unknown }[] = [];
  const ctl = new AbortController();
  const done = admin.events((e) => events.push(e), ctl.signal);
  await waitFor('snapshot', () => events.length >= 2);
  const { code } = await admin.generatePairingCode();
  const device = await anon().pair({ code, agent_name: 'tablet' });
  await waitFor('pairing event', () => events.some((e) => e.type === 'pairing' && (e.data as { id: string }).id === device.id));
  ctl.abort();
  await done;
});

test('certificates for API-key peers: own peer id only, re-key audited; CA in /api/config', async () => {
  const key = await r.issueApiKey('sidecar-pi');
  const c = new RegistryClient({ baseUrl: r.url, apiKey: key });
  const ca = await anon().registryCa();
  assert.deepEqual((await c.config()).registry_ca, ca);
  const k1 = await publicJwkOf((await generateKeyPair(false)).publicKey);
  const res = await c.requestCertificate(k1);
  assert.equal(res.peer_id, 'sidecar-pi');
  assert.ok((await verifyOwnCertificate(ca.public_key_jwk, res.certificate, { keyId: await jwkThumbprint(k1), peerId: 'sidecar-pi' })).ok);
  const k2 = await publicJwkOf((await generateKeyPair(false)).publicKey);
  await c.requestCertificate(k2);
  const actions = (await admin.audit()).filter((e) => e.target === 'sidecar-pi').map((e) => e.action);
  assert.deepEqual(actions.slice(0, 2), ['identity.rekey', 'identity.issue']);
  await assert.rejects(anon().requestCertificate(k1), (e: RegistryError) => e.status === 401);
});

test('code brute force is stopped by the per-client rate limit (default 5 a minute)', async () => {
  const r2 = await startRegistry();
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await api(r2.url, 'POST', '/api/pairing/pair', { body: { code: String(100000 + i), agent_name: 'guess' } })).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.deepEqual(statuses.slice(5), [429, 429, 429]);
    // Even the right code is refused while limited.
    const adminTok = await r2.token(r2.adminKey);
    const { code } = (await api(r2.url, 'POST', '/api/pairing/generate-code', { token: adminTok })).body;
    assert.equal((await api(r2.url, 'POST', '/api/pairing/pair', { body: { code, agent_name: 'real' } })).status, 429);
  } finally {
    await r2.stop();
  }
});

test('skill policy: admin sets it, peers read it (also in /api/config), the task queue enforces it', async () => {
  const caller = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('policy-caller') });
  const trusted = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('policy-trusted') });
  await assert.rejects(caller.setPolicy({ default: 'allow', rules: [] }), (e: RegistryError) => e.status === 403);
  await assert.rejects(admin.setPolicy({ default: 'maybe' } as never), (e: RegistryError) => e.status === 400);
  await admin.setPolicy({ default: 'allow', rules: [{ skill: 'shell.*', peers: ['policy-trusted'] }] });
  assert.equal((await caller.policy()).rules.length, 1);
  assert.equal((await caller.config()).skill_policy?.rules[0]?.skill, 'shell.*');
  await assert.rejects(caller.submitTask({ skill: 'shell.exec', payload: {} }), (e: RegistryError) => e.status === 403 && e.code === 'skill_forbidden');
  assert.ok((await trusted.submitTask({ skill: 'shell.exec', payload: {} })).task_id);
  assert.ok((await caller.submitTask({ skill: 'weather', payload: {} })).task_id);
  assert.ok((await admin.audit()).some((e) => e.action === 'policy.update'));
  // It survives a restart.
  await r.restart();
  await assert.rejects(caller.submitTask({ skill: 'shell.exec', payload: {} }), (e: RegistryError) => e.status === 403);
  await admin.setPolicy({});
});
