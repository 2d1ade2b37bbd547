// The fault lab itself: namespaces reach each other, cuts and UDP blocks really cut, a loopback
// service is reachable from inside, and a real coturn relays a WebRTC DataChannel.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Lab, HUB_IP, cleanupStaleLabs } from './netns.ts';
import { bridgeIntoNamespace } from './ns-bridge.ts';
import { startCoturn, turnCredentials, type Coturn } from './coturn.ts';
import { rtcPair } from './rtc-pair.ts';

const NETCHECK = fileURLToPath(new URL('./netcheck.mjs', import.meta.url));
let lab: Lab;

async function reach(from: number, proto: 'tcp' | 'udp', host: string, port = 7000): Promise<boolean> {
  const p = lab.spawn(lab.host(from).ns, process.execPath, [NETCHECK, proto, host, String(port)]);
  return (await p.exited).code === 0;
}

before(async () => {
  lab = Lab.create(3);
  const server = lab.spawn(lab.host(2).ns, process.execPath, [NETCHECK, 'serve', lab.host(2).ip, '7000']);
  const deadline = Date.now() + 10_000;
  while (!server.output().includes('ready')) {
    assert.ok(Date.now() < deadline, 'echo server did not start: ' + server.output());
    await new Promise((r) => setTimeout(r, 50));
  }
});
after(async () => {
  await lab?.destroy();
});

test('hosts reach each other over TCP and UDP', async () => {
  assert.equal(await reach(1, 'tcp', lab.host(2).ip), true);
  assert.equal(await reach(1, 'udp', lab.host(2).ip), true);
  assert.equal(await reach(3, 'udp', lab.host(2).ip), true);
});

test('a cut host reaches nobody until its link is restored', async () => {
  lab.cutHost(lab.host(1));
  try {
    assert.equal(await reach(1, 'tcp', lab.host(2).ip), false);
    assert.equal(await reach(1, 'udp', lab.host(2).ip), false);
    assert.equal(await reach(3, 'tcp', lab.host(2).ip), true, 'other hosts are not affected');
  } finally {
    lab.restoreHost(lab.host(1));
  }
  assert.equal(await reach(1, 'tcp', lab.host(2).ip), true);
});

test('blockUdp drops UDP between two hosts only; TCP still works', async () => {
  lab.blockUdp(lab.host(1), lab.host(2));
  try {
    assert.equal(await reach(1, 'udp', lab.host(2).ip), false);
    assert.equal(await reach(1, 'tcp', lab.host(2).ip), true);
    assert.equal(await reach(3, 'udp', lab.host(2).ip), true);
  } finally {
    lab.unblockUdp(lab.host(1), lab.host(2));
  }
  assert.equal(await reach(1, 'udp', lab.host(2).ip), true);
});

test('partition drops everything between two hosts, silently', async () => {
  lab.partition(lab.host(1), lab.host(2));
  try {
    assert.equal(await reach(1, 'tcp', lab.host(2).ip), false);
    assert.equal(await reach(1, 'udp', lab.host(2).ip), false);
  } finally {
    lab.heal(lab.host(1), lab.host(2));
  }
  assert.equal(await reach(1, 'tcp', lab.host(2).ip), true);
});

test('a loopback service is reachable from inside the lab at the hub address', async () => {
  const server = http.createServer((_req, res) => res.end('hello from loopback'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const bridge = await bridgeIntoNamespace(lab.hub, HUB_IP, port, port);
  try {
    const p = lab.spawn(lab.host(1).ns, process.execPath, [NETCHECK, 'http', `http://${HUB_IP}:${port}/`]);
    assert.equal((await p.exited).code, 0, p.output());
    assert.match(p.output(), /hello from loopback/);
    // a cut host cannot reach it
    lab.cutHost(lab.host(1));
    const q = lab.spawn(lab.host(1).ns, process.execPath, [NETCHECK, 'http', `http://${HUB_IP}:${port}/`]);
    assert.notEqual((await q.exited).code, 0);
    lab.restoreHost(lab.host(1));
  } finally {
    await bridge.close();
    server.close();
  }
});

test('stale namespaces of a dead owner are removed', async () => {
  // pid 2^22+1 is above Linux's pid_max default range, so it is never a live process
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['netns', 'add', 'cxf-4194305-9-hub']);
  assert.ok(cleanupStaleLabs().includes('cxf-4194305-9-hub'));
  assert.ok(!cleanupStaleLabs().includes(lab.hub), 'a live lab is kept');
  assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes('cxf-4194305-9-hub'));
});

test('coturn relays a WebRTC DataChannel between hosts whose direct UDP is blocked', async (t) => {
  let turn: Coturn | undefined;
  try {
    turn = await startCoturn({ lab });
    const creds = turnCredentials(turn.secret, 'lab-check');
    const iceServers = [{ urls: turn.url, ...creds }];
    lab.blockUdp(lab.host(1), lab.host(3));
    // without TURN there is no path at all
    const direct = await rtcPair(lab, lab.host(1), lab.host(3), { timeoutMs: 4000 });
    assert.equal(direct.echoed, false, 'UDP is blocked, a direct link must not form');
    const relayed = await rtcPair(lab, lab.host(1), lab.host(3), { iceServers, policy: 'relay', timeoutMs: 20_000 });
    assert.ok(
      relayed.candidates.some((c) => / typ relay /.test(c)),
      'a relay candidate was gathered: ' + relayed.candidates.join(' | '),
    );
    assert.equal(relayed.echoed, true, 'the DataChannel opened through coturn');
    assert.equal(relayed.local, 'relay');
  } catch (e) {
    if (turn) t.diagnostic((await turn.log()).slice(-3000));
    throw e;
  } finally {
    lab.unblockUdp(lab.host(1), lab.host(3));
    await turn?.stop();
  }
});
