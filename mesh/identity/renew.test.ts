// A long-running peer renews its certificate before it lapses, without restarting: against a real
// registry, with the clock moved to 30 days before expiry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { RegistryClient } from '../registry-client.ts';
import { MemoryKeyStore } from './keys.ts';
import { MemoryTrustRecords } from './known-peers.ts';
import { readCertificateUnverified } from './certificate.ts';
import { RENEW_BEFORE_MS, joinWithIdentity } from './join.ts';

let r: RegistryProcess;
before(async () => {
  r = await startRegistry();
});
after(async () => r?.stop());

const sdp = (fp: string) => ({ sdp: `v=0\r\na=fingerprint:sha-256 ${fp}\r\n` });
const pc = { localDescription: sdp('AA:'.repeat(31) + 'AA'), remoteDescription: sdp('BB:'.repeat(31) + 'BB') };

test('a running peer renews its certificate when 30 days are left, stores it, and proves with it', async () => {
  const registry = new RegistryClient({ baseUrl: r.url, apiKey: await r.issueApiKey('renewer') });
  await registry.token();
  let clock = Date.now();
  const keyStore = new MemoryKeyStore();
  const joined = await joinWithIdentity({ registry, peerId: 'renewer', keyStore, records: new MemoryTrustRecords(), now: () => clock });
  const first = joined.certificate;
  assert.equal(joined.issued, true);
  assert.equal(await joined.renewIfDue(), undefined, 'a new certificate is not due');

  const expires = readCertificateUnverified(first)!.expires_at;
  clock = expires - RENEW_BEFORE_MS - 60_000;
  assert.equal(await joined.renewIfDue(), undefined, 'a minute more than 30 days left: not yet');
  clock = expires - RENEW_BEFORE_MS + 60_000;
  const renewed = await joined.renewIfDue();
  assert.ok(renewed && renewed !== first, 'a fresh certificate once fewer than 30 days are left');
  assert.ok(readCertificateUnverified(renewed)!.expires_at > expires);
  assert.equal(joined.certificate, renewed);
  assert.equal(await keyStore.loadCertificate(), renewed, 'stored for the next start');
  const proof = JSON.parse(await joined.linkAuth.proofFrame('someone', pc)) as { certificate: string };
  assert.equal(proof.certificate, renewed, 'links prove with the renewed certificate from now on');
});
