import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { generate } from 'selfsigned';
import { startRegistry, type RegistryProcess } from './testing.ts';
import { api } from './test-support.ts';

let r: RegistryProcess;
let dist: string;
before(async () => {
  dist = mkdtempSync(join(tmpdir(), 'dist-'));
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>mesh app</title>');
  writeFileSync(join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(dist, 'sw.js'), 'self.x=1');
  r = await startRegistry({ env: { WEB_DIST_DIR: dist } });
});
after(async () => r?.stop());

test('serves the PWA with SPA fallback; API paths stay JSON', async () => {
  const home = await fetch(r.url + '/');
  assert.equal(home.status, 200);
  assert.match(await home.text(), /mesh app/);
  const deep = await fetch(r.url + '/devices/pair/123456');
  assert.equal(deep.status, 200);
  assert.match(await deep.text(), /mesh app/);
  const js = await fetch(r.url + '/assets/app-1234.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  const sw = await fetch(r.url + '/sw.js');
  assert.equal(sw.headers.get('cache-control'), 'no-cache');
  assert.equal((await fetch(r.url + '/missing-file.js')).status, 404);
  const apiMiss = await api(r.url, 'GET', '/api/does-not-exist');
  assert.equal(apiMiss.status, 404);
  assert.equal(apiMiss.body.error.code, 'not_found');
  assert.equal((await fetch(r.url + '/../../etc/passwd')).status !== 500, true);
  const health = await api(r.url, 'GET', '/healthz');
  assert.equal(health.body.status, 'ok');
});

test('a streamed (chunked) oversize body is refused with 413 and the server stays up', async () => {
  const status = await new Promise<number>((res, rej) => {
    const req = request(
      `${r.url}/api/hub/tasks`,
      { method: 'POST', headers: { 'X-API-Key': r.adminKey, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } },
      (resp) => {
        resp.resume();
        res(resp.statusCode ?? 0);
      },
    );
    req.on('error', rej);
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < 40) {
        sent++;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  }).catch(() => 413); // the server may cut the connection after answering
  assert.equal(status, 413);
  assert.equal((await api(r.url, 'GET', '/healthz')).status, 200);
});

test('rate limit on task submission answers 429', async () => {
  const r2 = await startRegistry({ env: { RATE_TASK_PER_MIN: '3' } });
  try {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await api(r2.url, 'POST', '/api/hub/tasks', { apiKey: r2.adminKey, body: { skill: 's' } })).status);
    assert.deepEqual(codes.slice(0, 3), [201, 201, 201]);
    assert.ok(codes.slice(3).every((c) => c === 429));
  } finally {
    await r2.stop();
  }
});

test('no web build: the registry answers a page that says how to build', async () => {
  const r3 = await startRegistry({ env: { WEB_DIST_DIR: join(dist, 'nothing-here') } });
  try {
    const res = await fetch(r3.url + '/');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build/);
  } finally {
    await r3.stop();
  }
});

test('HTTPS when TLS_CERT and TLS_KEY are set', async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'tls-'));
  writeFileSync(join(dir, 'cert.pem'), pems.cert);
  writeFileSync(join(dir, 'key.pem'), pems.private);
  const r4 = await startRegistry({ env: { TLS_CERT: join(dir, 'cert.pem'), TLS_KEY: join(dir, 'key.pem') } });
  try {
    assert.match(r4.url, /^https:/);
    const body = await httpsGetText(`${r4.url}/healthz`, { ca: pems.cert, servername: 'localhost', checkServerIdentity: () => undefined });
    assert.equal(JSON.parse(body).status, 'ok');
    assert.match(r4.output(), /listening on https:/);
  } finally {
    await r4.stop();
  }
});

test('TLS_SELF_SIGNED=1 creates a certificate for localhost and the LAN in the data dir and reuses it', async () => {
  const r5 = await startRegistry({ env: { TLS_SELF_SIGNED: '1' } });
  try {
    const { X509Certificate } = await import('node:crypto');
    const { readFileSync: read, statSync } = await import('node:fs');
    const pem = read(join(r5.dataDir, 'tls-cert.pem'));
    const cert = new X509Certificate(pem);
    assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(statSync(join(r5.dataDir, 'tls-key.pem')).mode & 0o777, 0o600);
    assert.match(r5.output(), new RegExp(cert.fingerprint256));
    const body = await httpsGetText(`${r5.url}/healthz`, { ca: pem, servername: 'localhost' });
    assert.equal(JSON.parse(body).status, 'ok');
    await r5.restart();
    assert.deepEqual(read(join(r5.dataDir, 'tls-cert.pem')), pem, 'reused across restarts');
  } finally {
    await r5.stop();
  }
});

/** GET over HTTPS with explicit trust options (fetch cannot take a CA per request). */
function httpsGetText(url: string, opts: RequestOptions): Promise<string> {
  return new Promise((res, rej) => {
    httpsRequest(url, opts, (resp) => {
      let b = '';
      resp.on('data', (d) => (b += d));
      resp.on('end', () => res(b));
    })
      .on('error', rej)
      .end();
  });
}
