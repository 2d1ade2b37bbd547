import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLinkProof, extractFingerprints, verifyLinkProof, type LinkEnds } from './link-proof.ts';
import { DAY, newCa, newDevice, randomFingerprint, sdpWith, type TestDevice } from './test-helpers.ts';
import type { RegistryCa } from './certificate.ts';
import type { LinkAuth } from '../peer-link.ts';

/** Two honest peers A and B whose SDPs went through an honest relay: each sees the other's real fingerprint. */
async function honestLink() {
  const ca = await newCa();
  const a = await newDevice(ca, 'web-a');
  const b = await newDevice(ca, 'pi-b');
  const fa = randomFingerprint();
  const fb = randomFingerprint();
  const aEnds: LinkEnds = { localPeerId: a.peerId, remotePeerId: b.peerId, localSdp: sdpWith(fa), remoteSdp: sdpWith(fb) };
  const bEnds: LinkEnds = { localPeerId: b.peerId, remotePeerId: a.peerId, localSdp: sdpWith(fb), remoteSdp: sdpWith(fa) };
  return { ca, a, b, aEnds, bEnds };
}

const proof = (d: TestDevice, ends: LinkEnds) => createLinkProof(d.identity, d.certificate, ends);
const verify = (ca: RegistryCa, p: unknown, ends: LinkEnds, now?: number) =>
  verifyLinkProof(p, { ...ends, caPublicJwk: ca.publicJwk, ...(now === undefined ? {} : { now }) });

test('extractFingerprints normalises, dedupes and sorts the a=fingerprint lines', () => {
  const sdp = 'v=0\r\na=fingerprint:SHA-256 ab:cd:ef\r\nm=application 9\r\na=fingerprint:sha-256 AB:CD:EF\r\na=fingerprint:sha-1 01:02\r\n';
  assert.deepEqual(extractFingerprints(sdp), ['sha-1 01:02', 'sha-256 AB:CD:EF']);
  assert.deepEqual(extractFingerprints('v=0\r\nm=application 9\r\n'), []);
  assert.deepEqual(extractFingerprints('a=fingerprint:sha-256 AB:CD:EF junk'), [], 'a malformed line is not a fingerprint');
});

test('a valid proof verifies in both directions and yields the certificate claims', async () => {
  const { ca, a, b, aEnds, bEnds } = await honestLink();
  const fromA = await verify(ca, JSON.stringify(await proof(a, aEnds)), bEnds);
  assert.ok(fromA.ok, JSON.stringify(fromA));
  assert.equal(fromA.claims.peer_id, 'web-a');
  assert.equal(fromA.claims.key_id, a.identity.keyId);
  const fromB = await verify(ca, await proof(b, bEnds), aEnds);
  assert.ok(fromB.ok, JSON.stringify(fromB));
});

test('a relay that swaps the DTLS fingerprints in offer and answer makes both proofs fail', async () => {
  const { ca, a, b } = await honestLink();
  const fa = randomFingerprint(),
    fb = randomFingerprint();
  const mitmToA = randomFingerprint(),
    mitmToB = randomFingerprint();
  // The relay terminates DTLS on both sides: A sees the relay's fingerprint as B's, and vice versa.
  const aEnds: LinkEnds = { localPeerId: a.peerId, remotePeerId: b.peerId, localSdp: sdpWith(fa), remoteSdp: sdpWith(mitmToA) };
  const bEnds: LinkEnds = { localPeerId: b.peerId, remotePeerId: a.peerId, localSdp: sdpWith(fb), remoteSdp: sdpWith(mitmToB) };
  const atB = await verify(ca, await proof(a, aEnds), bEnds);
  const atA = await verify(ca, await proof(b, bEnds), aEnds);
  assert.equal(!atB.ok && atB.reason, 'bad_signature');
  assert.equal(!atA.ok && atA.reason, 'bad_signature');
  // Swapping only one direction is caught as well.
  const halfB: LinkEnds = { ...bEnds, remoteSdp: sdpWith(fa) };
  const half = await verify(ca, await proof(a, { ...aEnds, remoteSdp: sdpWith(mitmToA) }), halfB);
  assert.equal(!half.ok && half.reason, 'bad_signature');
});

test('a proof from a device whose certificate names another peer id is refused', async () => {
  const { ca, bEnds } = await honestLink();
  const mallory = await newDevice(ca, 'mallory');
  // Mallory, a paired device, answers a connection that B believes goes to web-a.
  const malloryEnds: LinkEnds = { localPeerId: 'web-a', remotePeerId: 'pi-b', localSdp: bEnds.remoteSdp, remoteSdp: bEnds.localSdp };
  const res = await verify(ca, await proof(mallory, malloryEnds), bEnds);
  assert.equal(!res.ok && res.reason, 'peer_mismatch');
  assert.match(!res.ok ? res.message : '', /certificate belongs to mallory/);
  // Honest frame but the link is to someone else.
  const honest = await verify(ca, await proof(mallory, { ...malloryEnds, localPeerId: 'mallory' }), bEnds);
  assert.equal(!honest.ok && honest.reason, 'peer_mismatch');
});

test('a proof addressed to another peer, or reflected back to its maker, is refused', async () => {
  const { ca, a, aEnds, bEnds } = await honestLink();
  const p = await proof(a, aEnds);
  const elsewhere = await verify(ca, p, { ...bEnds, localPeerId: 'pi-c' });
  assert.equal(!elsewhere.ok && elsewhere.reason, 'target_mismatch');
  const reflected = await verify(ca, p, aEnds);
  assert.equal(reflected.ok, false);
});

test('a certificate from another CA is refused on a link', async () => {
  const { ca, aEnds, bEnds } = await honestLink();
  const rogue = await newDevice(await newCa(), 'web-a');
  const res = await verify(ca, await proof(rogue, aEnds), bEnds);
  assert.equal(!res.ok && res.reason, 'cert_wrong_ca');
});

test('an expired certificate is refused on a link', async () => {
  const { ca, aEnds, bEnds } = await honestLink();
  const now = Date.now();
  const old = await newDevice(ca, 'web-a', { issued_at: now - 10 * DAY, expires_at: now - DAY });
  const res = await verify(ca, await proof(old, aEnds), bEnds, now);
  assert.equal(!res.ok && res.reason, 'cert_expired');
});

test('a tampered signature is refused, and a valid signature by the wrong key too', async () => {
  const { ca, a, b, aEnds, bEnds } = await honestLink();
  const p = await proof(a, aEnds);
  const flipped = (p.signature[0] === 'A' ? 'B' : 'A') + p.signature.slice(1);
  const res = await verify(ca, { ...p, signature: flipped }, bEnds);
  assert.equal(!res.ok && res.reason, 'bad_signature');
  // A's certificate with a signature made by B's key.
  const byB = await createLinkProof(b.identity, a.certificate, aEnds);
  const res2 = await verify(ca, byB, bEnds);
  assert.equal(!res2.ok && res2.reason, 'bad_signature');
});

test('malformed frames and SDPs without fingerprints are refused with a reason, never thrown', async () => {
  const { ca, a, aEnds, bEnds } = await honestLink();
  for (const junk of ['{', '{}', JSON.stringify({ type: 'identity_proof' }), 'x'.repeat(10_000), 42, null]) {
    const res = await verify(ca, junk, bEnds);
    assert.equal(!res.ok && res.reason, 'malformed');
  }
  const p = await proof(a, aEnds);
  const res = await verify(ca, p, { ...bEnds, remoteSdp: 'v=0\r\n' });
  assert.equal(!res.ok && res.reason, 'no_fingerprint');
  await assert.rejects(createLinkProof(a.identity, a.certificate, { ...aEnds, localSdp: 'v=0\r\n' }), /no a=fingerprint/);
});

test('LinkAuthenticator takes local and remote from the connection and refuses with an identity_refused frame', async () => {
  const { KnownPeers, MemoryTrustRecords } = await import('./known-peers.ts');
  const { LinkAuthenticator } = await import('./link-auth.ts');
  const { decodeIdentityFrame } = await import('../protocol/identity.ts');
  const { ca, a, b, aEnds, bEnds } = await honestLink();
  const side = async (d: TestDevice) => {
    const knownPeers = new KnownPeers(new MemoryTrustRecords());
    await knownPeers.pinCa(ca.publicJwk);
    return new LinkAuthenticator({ localPeerId: d.peerId, identity: d.identity, certificate: () => d.certificate, knownPeers });
  };
  const pcA = { localDescription: { sdp: aEnds.localSdp }, remoteDescription: { sdp: aEnds.remoteSdp } };
  const pcB = { localDescription: { sdp: bEnds.localSdp }, remoteDescription: { sdp: bEnds.remoteSdp } };
  const [authA, authB] = [await side(a), await side(b)];
  const hook: LinkAuth = authA; // fits the mesh core's PeerLink hook as is
  assert.equal(hook.refusal({ reason: 'x', message: 'y' }), LinkAuthenticator.refusal({ reason: 'x', message: 'y' }));
  const res = await authB.check('web-a', pcB, await authA.proofFrame('pi-b', pcA));
  assert.ok(res.ok && res.firstUse && res.claims.peer_id === 'web-a');
  const swapped = await authA.check('pi-b', { ...pcA, remoteDescription: { sdp: sdpWith(randomFingerprint()) } }, await authB.proofFrame('web-a', pcB));
  assert.equal(!swapped.ok && swapped.reason, 'bad_signature');
  const refusal = decodeIdentityFrame(LinkAuthenticator.refusal(!swapped.ok ? swapped : { reason: '', message: '' }));
  assert.ok(refusal.ok && refusal.value.type === 'identity_refused' && refusal.value.reason === 'bad_signature');
  const bound = LinkAuthenticator.fingerprintsOf(pcA);
  assert.equal(LinkAuthenticator.fingerprintsOf({ ...pcA }), bound);
  assert.notEqual(LinkAuthenticator.fingerprintsOf({ ...pcA, remoteDescription: { sdp: sdpWith(randomFingerprint()) } }), bound);
  const noCert = new LinkAuthenticator({
    localPeerId: 'x',
    identity: a.identity,
    certificate: () => undefined,
    knownPeers: new KnownPeers(new MemoryTrustRecords()),
  });
  await assert.rejects(noCert.proofFrame('pi-b', pcA), /no certificate yet/);
});
