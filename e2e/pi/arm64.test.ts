/**
 * A 64-bit Raspberry Pi in the mesh, for real but emulated: the chatixia-sidecar package as
 * `npm pack` makes it, installed for arm64 the way a Pi owner installs it, run by npm's arm64 Node
 * under qemu-aarch64 (node-datachannel's linux-arm64-gnu binary). It links with two x86-64
 * sidecars and a Chromium tab through a normal registry; messages, a 4 MiB message, delegate and a
 * kill -9 with restart work. Set-up: e2e/pi/setup.sh (needs root). Timeouts allow for emulation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebStack, openSignedIn, type WebStack } from '../web/helpers.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { installPacked, installedPackages, progress, setUpEmulation } from './support.ts';

const PI = 'pi-arm64';
/** Emulated ARM code runs several times slower than native; links and answers get minutes. */
const SLOW = 240_000;
let stack: WebStack;
let pkg: { dir: string; bin: string };
let armNode: string;
let pi: SidecarProcess, x1: SidecarProcess, x2: SidecarProcess;
let piAgent: AgentClient, x1Agent: AgentClient, x2Agent: AgentClient;
let tabPeer: string;
const got: Record<string, string[]> = { pi: [], x2: [] };

async function startPi(): Promise<AgentClient> {
  const agent = await pi.agent({
    name: 'sensor',
    registerTimeoutMs: SLOW,
    skills: { pi_reverse: (a: { text: string }) => [...a.text].reverse().join('') },
  });
  agent.on('message', (m) => {
    if (m.type === 'bulk') got.pi!.push((m.payload as { data: string }).data);
  });
  return agent;
}

before(async () => {
  progress('setting up emulation, packing and installing for arm64');
  armNode = setUpEmulation().arm64;
  pkg = await installPacked('arm64');
  stack = await startWebStack();
  [x1, x2] = await Promise.all([startSidecarProcess(stack.registry, 'x86-one'), startSidecarProcess(stack.registry, 'x86-two')]);
  pi = await startSidecarProcess(stack.registry, PI, { node: armNode, bin: pkg.bin, startTimeoutMs: SLOW, env: { HEARTBEAT_MS: '2000' } });
  [x1Agent, x2Agent, piAgent] = await Promise.all([x1.agent({ name: 'one' }), x2.agent({ name: 'two' }), startPi()]);
  x2Agent.on('message', (m) => {
    if (m.type === 'bulk') got.x2!.push((m.payload as { data: string }).data);
  });
  tabPeer = (await openSignedIn(stack, stack.registry.adminKey)).peerId;
});

after(async () => {
  for (const a of [piAgent, x1Agent, x2Agent]) a?.close();
  await Promise.all([pi, x1, x2].map((s) => s?.stop()));
  await stack?.close();
});

test("the packed package installs for arm64 without dev dependencies and runs on node-datachannel's arm64 binary", () => {
  const installed = installedPackages(pkg.dir);
  for (const dev of ['typescript', 'tsx', 'esbuild', 'vite', 'playwright-core']) assert.ok(!installed.includes(dev), `${dev} was installed`);
  assert.deepEqual(
    installed.filter((p) => p.startsWith('@node-datachannel/')),
    ['@node-datachannel/linux-arm64-gnu'],
  );
  assert.match(pi.output(), /\[webrtc\] using node-datachannel \(native libdatachannel\) on linux-arm64/);
});

test('the arm64 sidecar links with two x86-64 sidecars and a Chromium tab', async () => {
  await waitFor(
    async () => {
      const peers = await piAgent.listPeers();
      return ['x86-one', 'x86-two', tabPeer].every((p) => peers.includes(p));
    },
    'the Pi to list both sidecars and the tab',
    SLOW,
  );
  for (const a of [x1Agent, x2Agent]) await waitFor(async () => (await a.listPeers()).includes(PI), `${a.name} to list the Pi`, SLOW);
});

test('messages, a 4 MiB message and delegate cross the links to and from the Pi', async () => {
  x1Agent.send(PI, { type: 'bulk', payload: { data: 'hello pi' } });
  await waitFor(() => got.pi!.includes('hello pi'), 'a message at the Pi', SLOW);
  progress('4 MiB both ways');
  const big = 'π0123456789abcdef'.repeat((4 * 1024 * 1024) / 17);
  piAgent.send('x86-two', { type: 'bulk', payload: { data: big } });
  await waitFor(() => got.x2!.some((d) => d === big), 'the 4 MiB message from the Pi, intact', SLOW);
  x1Agent.send(PI, { type: 'bulk', payload: { data: big } });
  await waitFor(() => got.pi!.some((d) => d === big), 'the 4 MiB message at the Pi, intact', SLOW);

  // An x86-64 agent runs the Pi's skill over the direct tier; the Pi runs the tab's built-in one.
  const toPi = (await x1Agent.task('delegate', { skill: 'pi_reverse', args: { text: 'arm64' } }, { timeoutMs: SLOW })) as {
    tier: string;
    peer_id: string;
    result: unknown;
  };
  assert.deepEqual([toPi.tier, toPi.peer_id, toPi.result], ['direct', PI, '46mra']);
  const fromPi = (await piAgent.task('delegate', { skill: 'upper', args: { text: 'from the pi' }, target_peer: tabPeer }, { timeoutMs: SLOW })) as {
    tier: string;
    result: unknown;
  };
  assert.deepEqual([fromPi.tier, fromPi.result], ['direct', 'FROM THE PI']);
});

test('kill -9 of the Pi: the others see it leave; restarted, it links again and answers', async () => {
  progress('kill -9 and restart');
  await pi.kill();
  await waitFor(async () => !(await x1Agent.listPeers()).includes(PI), 'x86-one to drop the Pi', 60_000);
  pi = await pi.restart();
  piAgent = await startPi();
  await waitFor(
    async () => {
      const peers = await piAgent.listPeers();
      return ['x86-one', 'x86-two', tabPeer].every((p) => peers.includes(p));
    },
    'the restarted Pi to link again',
    SLOW,
  );
  await waitFor(async () => (await x2Agent.listPeers()).includes(PI), 'x86-two to list the Pi again', SLOW);
  const again = (await x2Agent.task('pi_reverse', { text: 'back' }, { peer: PI, agent: 'sensor', timeoutMs: SLOW })) as string;
  assert.equal(again, 'kcab');
});
