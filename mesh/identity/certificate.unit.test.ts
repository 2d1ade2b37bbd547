import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRegistryCa,
  issueDeviceCertificate,
  loadRegistryCa,
  readCertificateUnverified,
  verifyDeviceCertificate,
  verifyOwnCertificate,
} from './certificate.ts';
import { fromBase64url, toBase64url, utf8 } from './encoding.ts';
import { DAY, newCa, newDevice } from './test-helpers.ts';

test('a certificate issued by the registry CA verifies and carries peer id, role and key id', async () => {
  const ca = await newCa();
  const dev = await newDevice(ca, 'pi-kitchen', { role: 'agent' });
  const res = await verifyDeviceCertificate(ca.publicJwk, dev.certificate);
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal(res.claims.peer_id, 'pi-kitchen');
  assert.equal(res.claims.role, 'agent');
  assert.equal(res.claims.key_id, dev.identity.keyId);
  assert.deepEqual(res.claims.public_key_jwk, dev.identity.publicJwk);
  const [header] = dev.certificate.split('.');
  assert.deepEqual(JSON.parse(new TextDecoder().decode(fromBase64url(header!))), { alg: 'ES256', typ: 'chatixia-device-cert', kid: ca.kid });
});

test('a CA reloaded from its stored private JWK issues certificates the original public key verifies', async () => {
  const { ca, privateJwk } = await createRegistryCa();
  const reloaded = await loadRegistryCa(JSON.parse(JSON.stringify(privateJwk)));
  assert.equal(reloaded.kid, ca.kid);
  assert.equal(reloaded.privateKey.extractable, false);
  const dev = await newDevice(reloaded, 'web-1');
  assert.ok((await verifyDeviceCertificate(ca.publicJwk, dev.certificate)).ok);
  const other = (await createRegistryCa()).privateJwk;
  await assert.rejects(loadRegistryCa({ ...privateJwk, d: other.d! }), /registry CA key is invalid/);
});

test('a certificate from another CA is refused', async () => {
  const pinned = await newCa();
  const rogue = await newCa();
  const dev = await newDevice(rogue, 'web-1');
  const res = await verifyDeviceCertificate(pinned.publicJwk, dev.certificate);
  assert.equal(res.ok, false);
  assert.equal(!res.ok && res.reason, 'cert_wrong_ca');
});

test('a certificate from another CA that claims the pinned CA kid fails the signature check', async () => {
  const pinned = await newCa();
  const rogue = await newCa();
  const forged = await issueDeviceCertificate(
    { ...rogue, kid: pinned.kid },
    {
      peer_id: 'web-1',
      public_key_jwk: (await newDevice(rogue, 'x')).identity.publicJwk,
      role: 'admin',
      expires_at: Date.now() + DAY,
    },
  );
  const res = await verifyDeviceCertificate(pinned.publicJwk, forged);
  assert.equal(!res.ok && res.reason, 'cert_bad_signature');
});

test('an expired certificate is refused', async () => {
  const ca = await newCa();
  const now = Date.now();
  const dev = await newDevice(ca, 'web-1', { issued_at: now - 2 * DAY, expires_at: now - 1000 });
  const res = await verifyDeviceCertificate(ca.publicJwk, dev.certificate, now);
  assert.equal(!res.ok && res.reason, 'cert_expired');
  assert.ok((await verifyDeviceCertificate(ca.publicJwk, dev.certificate, now - DAY)).ok, 'valid before it expired');
});

test('a certificate whose claims were edited (role raised to admin) is refused', async () => {
  const ca = await newCa();
  const dev = await newDevice(ca, 'web-1', { role: 'agent' });
  const [h, c, s] = dev.certificate.split('.');
  const claims = JSON.parse(new TextDecoder().decode(fromBase64url(c!)));
  const edited = `${h}.${toBase64url(utf8(JSON.stringify({ ...claims, role: 'admin' })))}.${s}`;
  const res = await verifyDeviceCertificate(ca.publicJwk, edited);
  assert.equal(!res.ok && res.reason, 'cert_bad_signature');
  assert.equal(readCertificateUnverified(edited)?.role, 'admin', 'the unverified reader only parses');
});

test('garbage certificates are refused as malformed without throwing', async () => {
  const ca = await newCa();
  for (const junk of ['', 'a.b', 'a.b.c', 'x'.repeat(5000), `${toBase64url(utf8('{}'))}.${toBase64url(utf8('{}'))}.AAAA`]) {
    const res = await verifyDeviceCertificate(ca.publicJwk, junk);
    assert.equal(!res.ok && res.reason, 'cert_malformed', junk.slice(0, 20));
  }
});

test('issuing refuses bad peer ids and an expiry before the issue time', async () => {
  const ca = await newCa();
  const dev = await newDevice(ca, 'web-1');
  await assert.rejects(
    issueDeviceCertificate(ca, { peer_id: 'bad id<script>', public_key_jwk: dev.identity.publicJwk, role: 'agent', expires_at: Date.now() + DAY }),
  );
  await assert.rejects(
    issueDeviceCertificate(ca, { peer_id: 'web-1', public_key_jwk: dev.identity.publicJwk, role: 'agent', expires_at: Date.now() - 1 }),
    /expires_at/,
  );
});

test('a device accepts the certificate handed to it only if it names its own key and peer id', async () => {
  const ca = await newCa();
  const dev = await newDevice(ca, 'web-1');
  const other = await newDevice(ca, 'web-2');
  assert.ok((await verifyOwnCertificate(ca.publicJwk, dev.certificate, { keyId: dev.identity.keyId, peerId: 'web-1' })).ok);
  const wrongKey = await verifyOwnCertificate(ca.publicJwk, other.certificate, { keyId: dev.identity.keyId, peerId: 'web-2' });
  assert.match(!wrongKey.ok ? wrongKey.message : '', /not for web-2 with this device's key/);
  assert.equal((await verifyOwnCertificate(ca.publicJwk, dev.certificate, { keyId: dev.identity.keyId, peerId: 'web-9' })).ok, false);
});

test('issuing refuses a public key that is not a point on P-256', async () => {
  const ca = await newCa();
  const dev = await newDevice(ca, 'web-1');
  const offCurve = { ...dev.identity.publicJwk, y: dev.identity.publicJwk.x };
  await assert.rejects(
    issueDeviceCertificate(ca, { peer_id: 'web-1', public_key_jwk: offCurve, role: 'agent', expires_at: Date.now() + DAY }),
    /not a valid P-256 public key/,
  );
});
