import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyStore, FileTrustRecords } from './identity-store.ts';
import { KnownPeers, loadOrCreateIdentity, readCertificateUnverified, signText, verifyText } from '../mesh/identity/index.ts';
import { newCa, newDevice } from '../mesh/identity/test-helpers.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'identity-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the sidecar key file is created with mode 0600 and loads the same identity again', async (t) => {
  const path = join(await tempDir(t), 'sub', 'device-key.json');
  const first = await loadOrCreateIdentity(new FileKeyStore(path));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(first.privateKey.extractable, false, 'loaded key is not extractable');
  const again = await loadOrCreateIdentity(new FileKeyStore(path));
  assert.equal(again.keyId, first.keyId);
  const sig = await signText(again.privateKey, 'hello');
  assert.ok(await verifyText(first.publicKey, sig, 'hello'));
  assert.equal(JSON.parse(await readFile(path, 'utf8')).type, 'chatixia-device-key');

  const store = new FileKeyStore(path);
  assert.equal(await store.loadCertificate(), undefined);
  await store.saveCertificate('aaa.bbb.ccc');
  assert.equal(await new FileKeyStore(path).loadCertificate(), 'aaa.bbb.ccc');
  assert.equal((await stat(`${path}.cert`)).mode & 0o777, 0o600);
});

test('a key file readable by group or others is refused with an error that says how to fix it', async (t) => {
  const path = join(await tempDir(t), 'device-key.json');
  await loadOrCreateIdentity(new FileKeyStore(path));
  for (const mode of [0o644, 0o640, 0o604]) {
    await chmod(path, mode);
    await assert.rejects(new FileKeyStore(path).load(), (err: Error) => {
      assert.match(err.message, new RegExp(`has mode ${mode.toString(8)}`));
      assert.match(err.message, /chmod 600/);
      return true;
    });
  }
  await chmod(path, 0o600);
  assert.ok(await new FileKeyStore(path).load());
});

test('two sidecars starting at once end up with one identity, and a corrupt key file is refused', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'device-key.json');
  const [a, b] = await Promise.all([loadOrCreateIdentity(new FileKeyStore(path)), loadOrCreateIdentity(new FileKeyStore(path))]);
  assert.equal(a.keyId, b.keyId);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"not":"a key"}', { mode: 0o600 });
  await assert.rejects(new FileKeyStore(bad).load(), /not a valid device key file/);
});

test('known peers and the pinned CA survive a restart in a 0600 file', async (t) => {
  const path = join(await tempDir(t), 'known-peers.json');
  const ca = await newCa();
  const dev = await newDevice(ca, 'web-a');
  const claims = readCertificateUnverified(dev.certificate)!;
  const peers = new KnownPeers(new FileTrustRecords(path));
  await peers.pinCa(ca.publicJwk);
  assert.ok((await peers.accept(claims)).ok);
  assert.equal((await stat(path)).mode & 0o777, 0o600);

  const restarted = new KnownPeers(new FileTrustRecords(path));
  assert.deepEqual(await restarted.pinnedCa(), ca.publicJwk);
  const other = await newDevice(ca, 'web-a', { issued_at: claims.issued_at - 1 });
  const res = await restarted.accept(readCertificateUnverified(other.certificate)!);
  assert.equal(!res.ok && res.reason, 'key_changed', 'the remembered key survived the restart');

  await chmod(path, 0o644);
  await assert.rejects(new FileTrustRecords(path).getPinnedCa(), /chmod 600/);
});
