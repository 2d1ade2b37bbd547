import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnownPeers, MemoryTrustRecords } from './known-peers.ts';
import { createLinkProof, type LinkEnds } from './link-proof.ts';
import { issueDeviceCertificate, verifyDeviceCertificate } from './certificate.ts';
import { DAY, newCa, newDevice, randomFingerprint, sdpWith, type TestDevice } from './test-helpers.ts';
import type { RegistryCa } from './certificate.ts';

async function claimsOf(ca: RegistryCa, d: TestDevice) {
  const res = await verifyDeviceCertificate(ca.publicJwk, d.certificate);
  assert.ok(res.ok);
  return res.claims;
}

test('TOFU remembers the first key, refuses a changed key, accepts a properly re-issued one, then refuses the old key', async () => {
  const ca = await newCa();
  const peers = new KnownPeers(new MemoryTrustRecords());
  const t0 = Date.now() - 3600_000;
  const original = await newDevice(ca, 'pi-b', { issued_at: t0 });

  const first = await peers.accept(await claimsOf(ca, original));
  assert.ok(first.ok && first.firstUse && !first.keyChanged);
  const again = await peers.accept(await claimsOf(ca, original));
  assert.ok(again.ok && !again.firstUse && !again.keyChanged);

  // Another key for pi-b in a certificate that is not newer (e.g. a stolen, older one): refused.
  const older = await newDevice(ca, 'pi-b', { issued_at: t0 - 1000 });
  const sameTime = await newDevice(ca, 'pi-b', { issued_at: t0 });
  for (const d of [older, sameTime]) {
    const res = await peers.accept(await claimsOf(ca, d));
    assert.equal(!res.ok && res.reason, 'key_changed');
    assert.match(!res.ok ? res.message : '', /pi-b presented key/);
  }

  // The registry re-issues pi-b with a new key: later issued_at, accepted, and now remembered.
  const reissued = await newDevice(ca, 'pi-b', { issued_at: t0 + 1000 });
  const ok = await peers.accept(await claimsOf(ca, reissued));
  assert.ok(ok.ok && ok.keyChanged);
  const rollback = await peers.accept(await claimsOf(ca, original));
  assert.equal(!rollback.ok && rollback.reason, 'key_changed', 'the superseded key is refused afterwards');
});

test('a renewed certificate for the same key moves the remembered issue time forward', async () => {
  const ca = await newCa();
  const records = new MemoryTrustRecords();
  const peers = new KnownPeers(records);
  const t0 = Date.now() - 3600_000;
  const dev = await newDevice(ca, 'web-a', { issued_at: t0 });
  assert.ok((await peers.accept(await claimsOf(ca, dev))).ok);
  const renewed = await claimsOf(ca, {
    ...dev,
    certificate: await issueDeviceCertificate(ca, {
      peer_id: 'web-a',
      public_key_jwk: dev.identity.publicJwk,
      role: 'agent',
      issued_at: t0 + 5000,
      expires_at: Date.now() + DAY,
    }),
  });
  assert.ok((await peers.accept(renewed)).ok);
  assert.equal((await records.getPeer('web-a'))?.issued_at, t0 + 5000);
  // A new key must now beat the renewed time, not the first one.
  const between = await newDevice(ca, 'web-a', { issued_at: t0 + 2000 });
  assert.equal((await peers.accept(await claimsOf(ca, between))).ok, false);
});

test('the registry CA is pinned on first use and a different CA is refused', async () => {
  const peers = new KnownPeers(new MemoryTrustRecords());
  const ca = await newCa();
  assert.deepEqual(await peers.pinCa(ca.publicJwk), { ok: true, firstUse: true });
  assert.deepEqual(await peers.pinCa(ca.publicJwk), { ok: true, firstUse: false });
  const other = await newCa();
  const res = await peers.pinCa(other.publicJwk);
  assert.equal(!res.ok && res.reason, 'ca_changed');
  assert.deepEqual(await peers.pinnedCa(), ca.publicJwk);
  await peers.forgetCa();
  assert.ok((await peers.pinCa(other.publicJwk)).ok, 'a deliberate reset allows a new CA');
});

test('verifyPeer checks the proof against the pinned CA and applies TOFU', async () => {
  const ca = await newCa();
  const peers = new KnownPeers(new MemoryTrustRecords());
  const a = await newDevice(ca, 'web-a', { issued_at: Date.now() - 1000 });
  const fa = randomFingerprint(),
    fb = randomFingerprint();
  const aEnds: LinkEnds = { localPeerId: 'web-a', remotePeerId: 'pi-b', localSdp: sdpWith(fa), remoteSdp: sdpWith(fb) };
  const bEnds: LinkEnds = { localPeerId: 'pi-b', remotePeerId: 'web-a', localSdp: sdpWith(fb), remoteSdp: sdpWith(fa) };
  const p = await createLinkProof(a.identity, a.certificate, aEnds);

  const unpinned = await peers.verifyPeer(p, bEnds);
  assert.equal(!unpinned.ok && unpinned.reason, 'no_pinned_ca');
  await peers.pinCa(ca.publicJwk);
  const ok = await peers.verifyPeer(p, bEnds);
  assert.ok(ok.ok && ok.firstUse && ok.claims.peer_id === 'web-a');

  const impostor = await newDevice(ca, 'web-a', { issued_at: Date.now() - 5000 });
  const res = await peers.verifyPeer(await createLinkProof(impostor.identity, impostor.certificate, aEnds), bEnds);
  assert.equal(!res.ok && res.reason, 'key_changed');
});
