/**
 * Trust end to end with real sidecars and a real registry: pairing a sidecar by code
 * (`chatixia-sidecar pair`), its 0600 files, proofs on links, revocation, a man in the middle on
 * the signaling path, and a changed key for a known peer id.
 * (JWT refusals — bad signature, alg none, expired — are in server/auth.test.ts and
 * server/signaling.test.ts; a non-admin approving and the code brute-force limit in
 * server/pairing.test.ts.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import { SIDECAR_BIN, startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { startMitmRelay } from './mitm-relay.ts';
import { REVOKED_EXIT_CODE } from '../../mesh/revocation.ts';

const running: Array<{ stop(): Promise<unknown> }> = [];
after(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => {});
});

async function registry(env: Record<string, string> = {}): Promise<RegistryProcess> {
  const r = await startRegistry({ env });
  running.push(r);
  return r;
}
async function sidecar(r: RegistryProcess, id: string, opts: Parameters<typeof startSidecarProcess>[2] = {}): Promise<SidecarProcess> {
  const s = await startSidecarProcess(r, id, opts);
  running.push(s);
  return s;
}
const admin = (r: RegistryProcess) => new RegistryClient({ baseUrl: r.url, apiKey: r.adminKey });
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

/** Runs `chatixia-sidecar pair …`; resolves with its exit code and output; `out()` reads output so far. */
function runPair(args: string[], env: Record<string, string> = {}) {
  let out = '';
  const child = spawn(process.execPath, [SIDECAR_BIN, 'pair', ...args], {
    env: { ...process.env, API_KEY: '', DEVICE_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const done = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  running.push({
    stop: async () => {
      child.kill('SIGKILL');
    },
  });
  return { out: () => out, done };
}

test('chatixia-sidecar pair: waits for approval, stores 0600 files, starts with them, proves itself; revocation cuts its links and it cannot come back', async () => {
  const r = await registry();
  const a = await sidecar(r, 'trust-a');
  await waitFor(() => /is in the mesh/.test(a.output()), 'sidecar A in the mesh');
  const dir = join(tempDir('chatixia-pair-'), 'state');
  const { code } = await admin(r).generatePairingCode();
  const name = 'Pi <b>lab</b>';
  const pair = runPair([code, '--registry-url', r.url, '--data-dir', dir, '--name', name]);
  await waitFor(() => /Waiting for approval/.test(pair.out()), 'the pair command waiting for approval');
  const entry = await waitFor(async () => (await admin(r).pendingPairings()).find((p) => p.agent_name === name), 'the request at the admin');
  assert.ok(entry.key_id, 'the request carries the device key');
  assert.equal(await Promise.race([pair.done, new Promise((res) => setTimeout(() => res('still waiting'), 2500))]), 'still waiting');
  await admin(r).approvePairing(entry.id);
  assert.equal(await pair.done, 0, pair.out());
  assert.match(pair.out(), new RegExp(`Approved\\. This machine is peer ${entry.peer_id}`));
  assert.equal(mode(dir), '700');
  for (const f of ['device.json', 'device-key.json', 'device-key.json.cert', 'known-peers.json']) assert.equal(mode(join(dir, f)), '600', f);

  // The normal start finds the device token in the data dir (no API key) and joins with the stored certificate.
  const c = await sidecar(r, entry.peer_id, { apiKey: 'unused', env: { API_KEY: '', REGISTRY_URL: '', SIDECAR_DATA_DIR: dir } });
  assert.equal(mode(c.socket), '600');
  await waitFor(
    () => a.output().includes(`peer connected: ${entry.peer_id}`) && c.output().includes('peer connected: trust-a'),
    'A and C linked with proofs',
    30_000,
  );
  assert.match(c.output(), /certificate loaded: peer .* every link must prove its identity/);
  assert.match(a.output(), /certificate issued: peer trust-a/);

  // Revoke from the admin side: A drops its link to C within seconds; C says why and exits 77 by itself.
  const t0 = Date.now();
  await admin(r).revokePairing(entry.id);
  await waitFor(() => a.output().includes(`peer disconnected: ${entry.peer_id}`), 'A closing its link to the revoked C', 10_000);
  const took = Date.now() - t0;
  assert.ok(took < 5000, `link closed after ${took} ms`);
  const exited = await waitFor(() => c.child.exitCode ?? null, 'the revoked sidecar to exit by itself', 15_000);
  assert.equal(exited, REVOKED_EXIT_CODE, c.output());
  const said = c.output().slice(c.output().indexOf('revoked:'));
  assert.match(
    said,
    new RegExp(
      `revoked: device ${entry.peer_id} was revoked by an admin.*Pair it again: chatixia-sidecar pair <code> --registry-url ${r.url.replace(/[.]/g, '\\.')}.*Exiting with status 77 \\(a systemd unit needs RestartPreventExitStatus=77\\)`,
    ),
  );
  assert.doesNotMatch(said, /retrying|reconnecting in|registry not reachable/, 'it retried after the revocation');
  // It cannot come back: refused at start, with the same status (systemd does not restart it).
  const again = await c.restart();
  running.push(again);
  const code2 = await waitFor(() => again.child.exitCode ?? (again.child.signalCode ? -1 : null), 'the revoked sidecar to give up', 20_000).catch(() => null);
  assert.equal(code2, REVOKED_EXIT_CODE, again.output());
  assert.match(again.output(), /refused the credentials: device .* was revoked.*Pair it again/);
  assert.ok(!a.output().slice(a.output().lastIndexOf('peer disconnected')).includes(`peer connected: ${entry.peer_id}`));
});

test('a sidecar whose API key is deleted says so and exits 77 without retrying', async () => {
  const r = await registry();
  const s = await sidecar(r, 'key-gone');
  await waitFor(() => /is in the mesh/.test(s.output()), 'the sidecar in the mesh');
  await admin(r).deleteKey('key-gone');
  const exited = await waitFor(() => s.child.exitCode ?? null, 'the sidecar to exit by itself', 15_000);
  assert.equal(exited, REVOKED_EXIT_CODE, s.output());
  assert.match(
    s.output(),
    /revoked: the API key of key-gone was deleted by an admin.*Ask an admin for a new API key \(dashboard → API keys\) and set API_KEY\. Exiting with status 77/,
  );
});

test('pair: a rejected request and an expired code end with a clear message and exit 1', async () => {
  const r = await registry({ PAIRING_CODE_TTL_S: '1' });
  const { code } = await admin(r).generatePairingCode();
  await new Promise((res) => setTimeout(res, 2100));
  const late = runPair([code, '--registry-url', r.url, '--data-dir', join(tempDir(), 'x')]);
  assert.equal(await late.done, 1);
  assert.match(late.out(), /code|expired|invalid/i);

  const r2 = await registry();
  const { code: c2 } = await admin(r2).generatePairingCode();
  const p = runPair([c2, '--registry-url', r2.url, '--data-dir', join(tempDir(), 'y'), '--name', 'intruder']);
  const entry = await waitFor(async () => (await admin(r2).pendingPairings()).find((e) => e.agent_name === 'intruder'), 'the request');
  await admin(r2).rejectPairing(entry.id);
  assert.equal(await p.done, 1);
  assert.match(p.out(), /rejected/);
});

test('a man in the middle on the signaling path (own DTLS on both legs, fingerprints rewritten) is detected and the link refused', async () => {
  const r = await registry();
  const a = await sidecar(r, 'mitm-a');
  await waitFor(() => /is in the mesh/.test(a.output()), 'A in the mesh');
  const relay = await startMitmRelay({ registryWsUrl: r.wsUrl, victim: 'mitm-b', other: 'mitm-a' });
  running.push({ stop: () => relay.close() });
  const b = await sidecar(r, 'mitm-b', { env: { SIGNALING_URL: relay.url } });
  // The relay really is in the middle: DTLS came up on both of its legs and it carried frames.
  await waitFor(() => relay.legsOpen() >= 2 && relay.forwarded() >= 1, 'both legs of the relay open', 30_000);
  await waitFor(() => /link to mitm-b refused: bad_signature/.test(a.output()), "A refusing B's proof", 15_000);
  await waitFor(() => /link to mitm-a refused/.test(b.output()), 'B refusing / refused', 15_000);
  assert.ok(!a.output().includes('peer connected: mitm-b'), 'A never opened the link');
  assert.ok(!b.output().includes('peer connected: mitm-a'), 'B never opened the link');
});

test('a changed key for a known peer id is refused unless the registry issued it later', async () => {
  const r = await registry();
  const a = await sidecar(r, 'tofu-a');
  await waitFor(() => /is in the mesh/.test(a.output()), 'A in the mesh');
  const key = await r.issueApiKey('tofu-b');
  const oldDir = tempDir('chatixia-old-');
  const newDir = tempDir('chatixia-new-');
  const count = (s: string, sub: string) => s.split(sub).length - 1;

  // Key 0 (kept on disk), then key 1 issued later: A accepts the re-key.
  const b0 = await sidecar(r, 'tofu-b', { apiKey: key, env: { SIDECAR_DATA_DIR: oldDir } });
  await waitFor(() => count(a.output(), 'peer connected: tofu-b') >= 1, 'A linked to B with key 0', 30_000);
  await b0.stop();
  const b1 = await sidecar(r, 'tofu-b', { apiKey: key, env: { SIDECAR_DATA_DIR: newDir } });
  await waitFor(() => count(a.output(), 'peer connected: tofu-b') >= 2, 'A linked to B with the re-issued key 1', 30_000);
  await b1.stop();

  // The old key with its old (still unexpired) certificate comes back: refused.
  const b2 = await sidecar(r, 'tofu-b', { apiKey: key, env: { SIDECAR_DATA_DIR: oldDir } });
  assert.match(await waitFor(() => /certificate loaded/.exec(b2.output())?.[0], 'B loading the old certificate'), /loaded/);
  await waitFor(() => /link to tofu-b refused: key_changed/.test(a.output()), 'A refusing the old key', 30_000);
  assert.equal(count(a.output(), 'peer connected: tofu-b'), 2);
  assert.equal(mode(join(oldDir, 'device-key.json')), '600');
  assert.equal(mode(join(oldDir, 'known-peers.json')), '600');
});
