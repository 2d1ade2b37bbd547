/**
 * A 64-bit Raspberry Pi in the mesh, for real but emulated: the chatixia-sidecar package as
 * `npm pack` makes it, installed for arm64 the way a Pi owner installs it, run by npm's arm64 Node
 * under qemu-aarch64 (node-datachannel's linux-arm64-gnu binary). It links with two x86-64
 * sidecars and a Chromium tab through a normal registry; messages, a 4 MiB message, delegate and a
 * kill -9 with restart work (the steps: scenario.ts). Set-up: e2e/pi/setup.sh (needs root).
 * Timeouts allow for emulation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSidecarProcess } from '../../sidecar-node/test-support.ts';
import { installedPackages } from './support.ts';
import { PiMesh } from './scenario.ts';

const PI = 'pi-arm64';
/** Emulated ARM code runs several times slower than native; links and answers get minutes. */
const SLOW = 240_000;
let mesh: PiMesh;

before(async () => {
  mesh = await PiMesh.start({
    arch: 'arm64',
    slowMs: SLOW,
    x86Peers: ['x86-one', 'x86-two'],
    agent: {
      name: 'sensor',
      skill: 'pi_reverse',
      handler: (a: { text: string }) => [...a.text].reverse().join(''),
      delegated: { args: { text: 'arm64' }, result: '46mra' },
      direct: { args: { text: 'back' }, result: 'kcab' },
    },
  });
  const env = { HEARTBEAT_MS: '2000' };
  await mesh.startPi(await startSidecarProcess(mesh.stack.registry, PI, { node: mesh.armNode, bin: mesh.pkg.bin, startTimeoutMs: SLOW, env }));
});

after(async () => {
  await mesh?.close();
});

test("the packed package installs for arm64 without dev dependencies and runs on node-datachannel's arm64 binary", () => {
  const installed = installedPackages(mesh.pkg.dir);
  for (const dev of ['typescript', 'tsx', 'esbuild', 'vite', 'playwright-core']) assert.ok(!installed.includes(dev), `${dev} was installed`);
  assert.deepEqual(
    installed.filter((p) => p.startsWith('@node-datachannel/')),
    ['@node-datachannel/linux-arm64-gnu'],
  );
  assert.match(mesh.pi.output(), /\[webrtc\] using node-datachannel \(native libdatachannel\) on linux-arm64/);
});

test('the arm64 sidecar links with two x86-64 sidecars and a Chromium tab', async () => {
  await mesh.linked({ tab: true });
});

test('messages, a 4 MiB message and delegate cross the links to and from the Pi', async () => {
  await mesh.messages({ bigToPi: true });
  await mesh.delegateBothWays('from the pi');
});

test('kill -9 of the Pi: the others see it leave; restarted, it links again and answers', async () => {
  await mesh.killAndRestart({ tab: true });
});
