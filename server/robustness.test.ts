import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api } from './test-support.ts';

let r: RegistryProcess;
before(async () => {
  r = await startRegistry();
});
after(async () => r?.stop());

const ROUTES: [string, string][] = [
  ['POST', '/api/token'],
  ['POST', '/api/keys'],
  ['GET', '/api/keys'],
  ['DELETE', '/api/keys/%E0%A4%A'],
  ['POST', '/api/registry/agents'],
  ['GET', '/api/registry/agents/%zz'],
  ['DELETE', '/api/registry/agents/..%2F..'],
  ['GET', '/api/registry/route?skill=%'],
  ['POST', '/api/hub/heartbeat'],
  ['POST', '/api/hub/tasks'],
  ['GET', '/api/hub/tasks/all?state=nope&limit=-5'],
  ['POST', '/api/hub/tasks/abc'],
  ['GET', '/api/hub/tasks/%00'],
  ['POST', '/api/pairing/generate-code'],
  ['POST', '/api/pairing/pair'],
  ['GET', '/api/pairing/../../status'],
  ['POST', '/api/pairing/abcdef12/approve'],
  ['GET', '/api/pairing/abcdef12/status'],
  ['PUT', '/api/policy'],
  ['POST', '/api/identity/certificate'],
  ['GET', '/api/audit?limit=abc&before=-1'],
  ['GET', '/api/events?token=x.y.z'],
];
const BODIES = [
  '',
  'null',
  '[]',
  '"str"',
  '{"a":',
  '\u0000\u0001binary',
  '{"agent_id":{"$gt":""}}',
  '['.repeat(50_000),
  JSON.stringify({ code: '123456', agent_name: 'x'.repeat(10_000) }),
];

test('garbage at every route: never 5xx, every refusal is a JSON error, and the process stays up', async () => {
  const adminTok = await r.token(r.adminKey);
  const failures: string[] = [];
  for (const [method, path] of ROUTES) {
    for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : BODIES) {
      // With a valid token /api/events is a stream that never ends: only its refusals are checked here.
      for (const auth of path.startsWith('/api/events') ? [undefined] : [undefined, adminTok]) {
        const res = await api(r.url, method, path, { ...(auth ? { token: auth } : {}), ...(body === undefined ? {} : { rawBody: body }) });
        const refusedWithoutErrorBody = res.status >= 400 && (typeof res.body !== 'object' || !res.body?.error?.code);
        if (res.status >= 500 || refusedWithoutErrorBody)
          failures.push(`${method} ${path} body=${String(body).slice(0, 20)} → ${res.status} ${JSON.stringify(res.body).slice(0, 80)}`);
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal((await api(r.url, 'GET', '/healthz')).status, 200);
});

test('malformed HTTP on the raw socket does not take the registry down', async () => {
  for (const junk of [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    `GET /${'a'.repeat(100_000)} HTTP/1.1\r\n\r\n`,
    'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  ]) {
    await new Promise<void>((res) => {
      const s = connect(r.port, '127.0.0.1', () => s.end(junk));
      s.on('data', () => undefined);
      s.on('close', () => res());
      s.on('error', () => res());
      s.setTimeout(3000, () => s.destroy());
    });
  }
  assert.equal((await api(r.url, 'GET', '/healthz')).status, 200);
  assert.ok(!/uncaught exception|unhandled rejection/.test(r.output()), r.output().slice(-2000));
});
