import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOutboundUrl, UrlRefused } from './url-guard.ts';

test('internal addresses are refused unless the allow-list names the host', async () => {
  for (const u of [
    'http://127.0.0.1/',
    'http://10.1.2.3:8080/x',
    'http://172.20.0.1/',
    'http://192.168.1.10/',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0.0.0.0/',
    'http://100.64.0.1/',
  ]) {
    await assert.rejects(checkOutboundUrl(u, []), (e: Error) => e instanceof UrlRefused && /SSRF guard/.test(e.message), u);
  }
  assert.equal((await checkOutboundUrl('http://127.0.0.1:9/', ['127.0.0.1'])).port, '9');
  assert.ok(await checkOutboundUrl('http://[::1]/', ['::1']));
  assert.ok(await checkOutboundUrl('http://10.0.0.1/', ['*']));
});

test('public addresses pass; other schemes and non-URLs do not', async () => {
  assert.ok(await checkOutboundUrl('https://8.8.8.8/card', []));
  assert.ok(await checkOutboundUrl('http://[2606:4700::1111]/', []));
  await assert.rejects(checkOutboundUrl('file:///etc/passwd', ['*']), /not http/);
  await assert.rejects(checkOutboundUrl('not a url', []), /not a URL/);
  await assert.rejects(checkOutboundUrl('http://localhost/', []), /loopback or private.*add "localhost"/);
});
