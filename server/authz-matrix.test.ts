/**
 * The authorization matrix (docs/trust.md): every REST route and every `/ws` frame type × every
 * principal — no token, admin, the owner of the object, another peer, a paired device, a revoked
 * peer, an expired token — against a real registry process, each cell with its expected answer.
 * A route of the app without a row fails the test (the route list comes from the app itself).
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api, forgeToken, TestSocket, type ApiAnswer } from './test-support.ts';
import { buildApp } from './app.ts';
import type { RegistryState } from './state.ts';
import { RegistryClient } from '../mesh/registry-client.ts';
import { generateKeyPair, publicJwkOf } from '../mesh/identity/keys.ts';
import { isRevokedBody, isRevokedClose } from '../mesh/protocol/index.ts';

const WHO = ['none', 'admin', 'owner', 'other', 'device', 'revoked', 'expired'] as const;
type Who = (typeof WHO)[number];
/** 'ok' = any 2xx. */
type Expect = number | 'ok';

interface Principal {
  token?: string;
  longLived?: Record<string, string>;
  peer: string;
}
let r: RegistryProcess;
let admin: RegistryClient;
const P = {} as Record<Who, Principal>;
let seq = 0;
const fresh = (p: string) => `${p}-${++seq}`;

before(async () => {
  const dist = mkdtempSync(join(tmpdir(), 'chatixia-dist-'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>matrix</title>');
  r = await startRegistry({ env: { RATE_PAIRING_PER_MIN: '100000', RATE_PAIRING_WRONG_PER_MIN: '100000', WEB_DIST_DIR: dist } });
  admin = new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
  const keyed = async (peer: string) => {
    const key = await r.issueApiKey(peer);
    return { token: await r.token(key), longLived: { 'X-API-Key': key }, peer };
  };
  P.none = { peer: 'nobody' };
  P.admin = { token: await r.token(r.adminKey), longLived: { 'X-API-Key': r.adminKey }, peer: 'admin' };
  P.owner = await keyed('m-owner');
  P.other = await keyed('m-other');
  const { code } = await admin.generatePairingCode();
  const dev = await new RegistryClient({ baseUrl: r.url }).pair({ code, agent_name: 'matrix phone' });
  await admin.approvePairing(dev.id);
  const { device_token } = await new RegistryClient({ baseUrl: r.url }).pairingStatus(dev.id, dev.claim_secret);
  P.device = {
    token: await new RegistryClient({ baseUrl: r.url, deviceToken: device_token! }).token(),
    longLived: { 'X-Device-Token': device_token! },
    peer: dev.peer_id,
  };
  P.revoked = await keyed('m-revoked');
  assert.equal((await as('admin', 'DELETE', '/api/keys/m-revoked')).status, 200);
  // A token of the owner that expired a minute ago, signed with the registry's own key.
  const t = Math.floor(Date.now() / 1000);
  P.expired = { token: await forgeToken(r, { sub: 'm-owner', role: 'agent', iat: t - 120, exp: t - 60 }), peer: 'm-owner' };
  // Objects the rows act on.
  await as('owner', 'POST', '/api/hub/heartbeat', { agent_id: 'card@m-owner', skill_names: ['matrix-skill'] });
});
after(async () => r?.stop());

const auth = (who: Who) => (P[who].token ? { token: P[who].token } : {});
const as = (who: Who, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  api(r.url, method, path, { ...auth(who), ...(body !== undefined && { body }), ...(headers && { headers }) });
/** Expected answers: public, any authenticated principal, admin only, or the object's owner (and admin). */
const PUBLIC = (ok: Expect = 'ok'): Record<Who, Expect> => ({ none: ok, admin: ok, owner: ok, other: ok, device: ok, revoked: ok, expired: ok });
const AUTHENTICATED: Record<Who, Expect> = { none: 401, admin: 'ok', owner: 'ok', other: 'ok', device: 'ok', revoked: 401, expired: 401 };
const ADMIN: Record<Who, Expect> = { none: 401, admin: 'ok', owner: 403, other: 403, device: 403, revoked: 401, expired: 401 };
const OWNER = (refused: number): Record<Who, Expect> => ({ none: 401, admin: 'ok', owner: 'ok', other: refused, device: refused, revoked: 401, expired: 401 });

async function ownerTask(): Promise<string> {
  return (await as('owner', 'POST', '/api/hub/tasks', { skill: 'nobody-runs-it', payload: { secret: 1 } })).body.task_id;
}
async function pendingEntry(): Promise<string> {
  const { code } = await admin.generatePairingCode();
  return (await new RegistryClient({ baseUrl: r.url }).pair({ code, agent_name: fresh('entry') })).id;
}
async function approvedEntry(): Promise<string> {
  const id = await pendingEntry();
  await admin.approvePairing(id);
  return id;
}
async function jwk() {
  return publicJwkOf((await generateKeyPair(false)).publicKey);
}

interface Row {
  route: string;
  expect: Record<Who, Expect>;
  call(who: Who): Promise<ApiAnswer>;
}
const ROWS: Row[] = [
  { route: 'GET /healthz', expect: PUBLIC(), call: (w) => as(w, 'GET', '/healthz') },
  { route: 'GET /*', expect: PUBLIC(), call: (w) => as(w, 'GET', '/devices') },
  { route: 'GET /ws', expect: PUBLIC(426), call: (w) => as(w, 'GET', '/ws') },
  { route: 'GET /.well-known/agent.json', expect: PUBLIC(), call: (w) => as(w, 'GET', '/.well-known/agent.json') },
  // A2A (docs/interop.md): the registry's cards are public, an agent's card and the JSON-RPC doors need a token
  // (who may read which A2A task is the interop tests' matter: server/interop).
  { route: 'GET /.well-known/agent-card.json', expect: PUBLIC(), call: (w) => as(w, 'GET', '/.well-known/agent-card.json') },
  { route: 'GET /a2a/.well-known/agent-card.json', expect: PUBLIC(), call: (w) => as(w, 'GET', '/a2a/.well-known/agent-card.json') },
  {
    route: 'GET /a2a/agents/:id/.well-known/agent-card.json',
    expect: AUTHENTICATED,
    call: (w) => as(w, 'GET', '/a2a/agents/card@m-owner/.well-known/agent-card.json'),
  },
  {
    route: 'POST /a2a/',
    expect: AUTHENTICATED,
    call: (w) => as(w, 'POST', '/a2a/', { jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }, { 'A2A-Version': '1.0' }),
  },
  {
    route: 'POST /a2a/agents/:id/',
    expect: AUTHENTICATED,
    call: (w) => as(w, 'POST', '/a2a/agents/card@m-owner/', { jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }, { 'A2A-Version': '1.0' }),
  },
  { route: 'GET /api/identity/ca', expect: PUBLIC(), call: (w) => as(w, 'GET', '/api/identity/ca') },
  // Exchanges the long-lived credential (API key or device token); a JWT is not one.
  {
    route: 'POST /api/token',
    expect: { none: 401, admin: 'ok', owner: 'ok', other: 'ok', device: 'ok', revoked: 401, expired: 401 },
    call: (w) => api(r.url, 'POST', '/api/token', { body: {}, headers: P[w].longLived ?? (P[w].token ? { Authorization: `Bearer ${P[w].token}` } : {}) }),
  },
  { route: 'POST /api/keys', expect: ADMIN, call: (w) => as(w, 'POST', '/api/keys', { peer_id: fresh('k') }) },
  { route: 'GET /api/keys', expect: ADMIN, call: (w) => as(w, 'GET', '/api/keys') },
  {
    route: 'DELETE /api/keys/:peer_id',
    expect: ADMIN,
    call: async (w) => {
      const peer = fresh('kd');
      await r.issueApiKey(peer);
      return as(w, 'DELETE', `/api/keys/${peer}`);
    },
  },
  { route: 'GET /api/registry/agents', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/registry/agents') },
  {
    route: 'POST /api/registry/agents',
    expect: OWNER(403),
    call: (w) => as(w, 'POST', '/api/registry/agents', { agent_id: 'reg@m-owner', ...(w === 'admin' && { peer_id: 'm-owner' }) }),
  },
  { route: 'GET /api/registry/agents/:id', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/registry/agents/card@m-owner') },
  { route: 'GET /api/registry/agents/:id/card', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/registry/agents/card@m-owner/card') },
  {
    route: 'DELETE /api/registry/agents/:id',
    expect: OWNER(403),
    call: async (w) => {
      const id = `${fresh('del')}@m-owner`;
      await as('owner', 'POST', '/api/hub/heartbeat', { agent_id: id });
      return as(w, 'DELETE', `/api/registry/agents/${id}`);
    },
  },
  { route: 'GET /api/registry/route', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/registry/route?skill=matrix-skill') },
  {
    route: 'POST /api/hub/heartbeat',
    expect: OWNER(403),
    call: (w) => as(w, 'POST', '/api/hub/heartbeat', { agent_id: 'hb@m-owner', ...(w === 'admin' && { peer_id: 'm-owner' }) }),
  },
  { route: 'POST /api/hub/tasks', expect: AUTHENTICATED, call: (w) => as(w, 'POST', '/api/hub/tasks', { skill: 'matrix-skill', payload: {} }) },
  { route: 'GET /api/hub/tasks/all', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/hub/tasks/all') },
  { route: 'GET /api/hub/tasks/:id', expect: OWNER(404), call: async (w) => as(w, 'GET', `/api/hub/tasks/${await ownerTask()}`) },
  // Cancelling (failed) is the submitter's or an admin's; completing is the holder's (server/task-authz.test.ts).
  {
    route: 'POST /api/hub/tasks/:id',
    expect: OWNER(404),
    call: async (w) => as(w, 'POST', `/api/hub/tasks/${await ownerTask()}`, { state: 'failed', error: 'cancelled' }),
  },
  // A streamed piece of the answer: from the peer holding the task only (owner claims it here; admin submitted it).
  // The submitter (admin) may see the task, so it is told 403; to a peer that may not see it the task does not exist (404).
  {
    route: 'POST /api/hub/tasks/:id/chunks',
    expect: { none: 401, admin: 403, owner: 'ok', other: 404, device: 404, revoked: 401, expired: 401 },
    call: async (w) => {
      const skill = fresh('chunky');
      const id = (await as('admin', 'POST', '/api/hub/tasks', { skill, payload: {} })).body.task_id;
      await as('owner', 'POST', '/api/hub/heartbeat', { agent_id: 'ch@m-owner', skill_names: [skill] });
      return as(w, 'POST', `/api/hub/tasks/${id}/chunks`, { text: 'piece' });
    },
  },
  { route: 'GET /api/hub/network/topology', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/hub/network/topology') },
  { route: 'GET /api/config', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/config') },
  {
    route: 'GET /api/events',
    expect: AUTHENTICATED,
    call: async (w) => {
      const ctl = new AbortController();
      const res = await fetch(`${r.url}/api/events`, { headers: P[w].token ? { Authorization: `Bearer ${P[w].token}` } : {}, signal: ctl.signal });
      const body = res.ok ? undefined : await res.json();
      ctl.abort();
      return { status: res.status, body, headers: res.headers };
    },
  },
  { route: 'GET /api/policy', expect: AUTHENTICATED, call: (w) => as(w, 'GET', '/api/policy') },
  { route: 'PUT /api/policy', expect: ADMIN, call: (w) => as(w, 'PUT', '/api/policy', { default: 'allow', rules: [] }) },
  { route: 'GET /api/audit', expect: ADMIN, call: (w) => as(w, 'GET', '/api/audit') },
  {
    route: 'POST /api/identity/certificate',
    expect: AUTHENTICATED,
    call: async (w) => as(w, 'POST', '/api/identity/certificate', { public_key_jwk: await jwk() }),
  },
  { route: 'POST /api/pairing/generate-code', expect: ADMIN, call: (w) => as(w, 'POST', '/api/pairing/generate-code', {}) },
  // Public: the code is the credential (its limits: server/pairing-bruteforce.test.ts).
  {
    route: 'POST /api/pairing/pair',
    expect: PUBLIC(),
    call: async (w) => as(w, 'POST', '/api/pairing/pair', { code: (await admin.generatePairingCode()).code, agent_name: fresh('p') }),
  },
  { route: 'GET /api/pairing/pending', expect: ADMIN, call: (w) => as(w, 'GET', '/api/pairing/pending') },
  { route: 'GET /api/pairing/all', expect: ADMIN, call: (w) => as(w, 'GET', '/api/pairing/all') },
  // Without the claim secret only an admin reads an entry's status.
  {
    route: 'GET /api/pairing/:id/status',
    expect: { ...ADMIN, none: 403, revoked: 403, expired: 403 },
    call: async (w) => as(w, 'GET', `/api/pairing/${await pendingEntry()}/status`),
  },
  { route: 'POST /api/pairing/:id/approve', expect: ADMIN, call: async (w) => as(w, 'POST', `/api/pairing/${await pendingEntry()}/approve`, {}) },
  { route: 'POST /api/pairing/:id/reject', expect: ADMIN, call: async (w) => as(w, 'POST', `/api/pairing/${await pendingEntry()}/reject`, {}) },
  { route: 'POST /api/pairing/:id/revoke', expect: ADMIN, call: async (w) => as(w, 'POST', `/api/pairing/${await approvedEntry()}/revoke`, {}) },
];

/** The app's own route list (method + path), without middleware. */
function appRoutes(): string[] {
  const app = buildApp({ cfg: { webDistDir: '/nonexistent', trustProxy: 0 } } as unknown as RegistryState);
  return [...new Set(app.routes.filter((x) => x.method !== 'ALL').map((x) => `${x.method} ${x.path}`))].sort();
}

test('every route of the app has a row in the matrix', () => {
  const rows = ROWS.map((x) => x.route).sort();
  assert.deepEqual(
    rows.filter((x) => !appRoutes().includes(x)),
    [],
    'rows for routes that do not exist',
  );
  assert.deepEqual(
    appRoutes().filter((x) => !rows.includes(x)),
    [],
    'routes without a row: add one to ROWS with the expected answer per principal',
  );
});

test('REST: every route × every principal answers as the matrix says; a revoked peer is told so', async () => {
  let tried = 0;
  let allowed = 0;
  const wrong: string[] = [];
  for (const row of ROWS) {
    for (const who of WHO) {
      const res = await row.call(who);
      tried++;
      const ok = res.status >= 200 && res.status < 300;
      if (ok) allowed++;
      const want = row.expect[who];
      if (want === 'ok' ? !ok : res.status !== want)
        wrong.push(`${row.route} as ${who}: ${res.status} (want ${want}) ${JSON.stringify(res.body).slice(0, 160)}`);
      if (who === 'revoked' && want === 401 && !isRevokedBody(res.body))
        wrong.push(`${row.route} as revoked: body is not the revocation contract: ${JSON.stringify(res.body)}`);
    }
  }
  console.log(`# REST matrix: ${ROWS.length} routes × ${WHO.length} principals = ${tried} cells tried, ${allowed} allow`);
  assert.deepEqual(wrong, []);
});

/** `/ws` frame types (and the forged variant of a relay) × principals. */
const FRAMES = [
  'auth',
  'register',
  'heartbeat',
  'offer',
  'answer',
  'ice_candidate',
  'offer (forged peer_id)',
  'peer_list',
  'peer_joined',
  'peer_left',
  'peer_revoked',
  'error',
  'unknown',
] as const;

test('/ws: every frame type × every principal', async () => {
  const target = await TestSocket.open(r.wsUrl, { token: await r.token(await r.issueApiKey('m-target')) });
  target.send({ type: 'register', payload: {} });
  await target.next('peer_list');
  let tried = 0;
  let allowed = 0;
  const wrong: string[] = [];
  for (const who of WHO) {
    for (const frame of FRAMES) {
      tried++;
      const outcome = await wsCell(who, frame, target);
      const want = expectWs(who, frame);
      if (outcome === 'ok') allowed++;
      if (outcome !== want) wrong.push(`${frame} as ${who}: ${outcome} (want ${want})`);
    }
  }
  target.close();
  console.log(`# /ws matrix: ${FRAMES.length} frame types × ${WHO.length} principals = ${tried} cells tried, ${allowed} allow`);
  assert.deepEqual(wrong, []);
});

function expectWs(who: Who, frame: (typeof FRAMES)[number]): string {
  if (who === 'revoked') return 'closed 4003 revoked';
  if (who === 'expired') return 'closed 4003';
  if (who === 'none') return frame === 'auth' ? 'ok' : 'closed 4003';
  if (frame === 'offer (forged peer_id)') return 'error forbidden';
  if (['peer_list', 'peer_joined', 'peer_left', 'peer_revoked', 'error'].includes(frame)) return 'error invalid';
  if (frame === 'unknown') return 'error unknown_type';
  return 'ok';
}

/** One cell: open as `who` (register first unless the frame is register or auth), send the frame, read what happens. */
async function wsCell(who: Who, frame: (typeof FRAMES)[number], target: TestSocket): Promise<string> {
  const p = P[who];
  const sock = new TestSocket(new WebSocket(r.wsUrl, p.token ? ['chatixia-jwt', p.token] : undefined));
  try {
    await sock.opened;
  } catch (e) {
    return `no upgrade: ${(e as Error).message}`;
  }
  await new Promise((res) => setTimeout(res, 50));
  const me = p.peer;
  const settle = async () => {
    await new Promise((res) => setTimeout(res, 150));
    if (sock.closeInfo) return `closed ${sock.closeInfo.code}${isRevokedClose(sock.closeInfo.code, sock.closeInfo.reason) ? ' revoked' : ''}`;
    const err = sock.frames.find((f) => f.type === 'error');
    return err ? `error ${err.payload.code}` : 'ok';
  };
  if (!sock.closeInfo && who !== 'none' && frame !== 'register' && frame !== 'auth') {
    sock.send({ type: 'register', payload: {} });
    await sock.next('peer_list', 2000).catch(() => undefined);
  }
  const relay = (type: string, from: string) => ({
    type,
    peer_id: from,
    target_id: 'm-target',
    payload: type === 'ice_candidate' ? { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' } : { sdp: 'v=0' },
  });
  // A fresh token of the same principal (from its long-lived credential) renews the session.
  const fresh = p.longLived ? (await api(r.url, 'POST', '/api/token', { body: {}, headers: p.longLived })).body.token : undefined;
  const frames: Record<(typeof FRAMES)[number], unknown> = {
    auth: { type: 'auth', payload: { token: who === 'none' ? P.other.token : (fresh ?? 'no-token') } },
    register: { type: 'register', payload: {} },
    heartbeat: { type: 'heartbeat', payload: {} },
    offer: relay('offer', me),
    answer: relay('answer', me),
    ice_candidate: relay('ice_candidate', me),
    'offer (forged peer_id)': relay('offer', 'm-target'),
    peer_list: { type: 'peer_list', payload: { peers: [] } },
    peer_joined: { type: 'peer_joined', payload: { peer_id: 'x' } },
    peer_left: { type: 'peer_left', payload: { peer_id: 'x' } },
    peer_revoked: { type: 'peer_revoked', payload: { peer_id: 'm-target' } },
    error: { type: 'error', payload: { code: 'x', message: 'y' } },
    unknown: { type: 'launch_missiles', payload: {} },
  };
  if (!sock.closeInfo) sock.send(frames[frame]);
  const outcome = await settle();
  // A relayed frame must reach its target with the sender's real id.
  if (outcome === 'ok' && ['offer', 'answer', 'ice_candidate'].includes(frame)) {
    const got = await target.next(frame, 2000, (f) => f.peer_id === me).catch(() => undefined);
    if (!got) return 'not relayed';
  }
  sock.close();
  return outcome;
}
