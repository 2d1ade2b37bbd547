/** The chatixia-sidecar command itself: help, config errors, socket before registry, stale socket, shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { SIDECAR_BIN, tempDir, waitFor } from './test-support.ts';
import { REPO } from '../e2e/web/build.ts';
import { freePort } from '../server/testing.ts';

const ENV_VARS = ['SIGNALING_URL', 'TOKEN_URL', 'API_KEY', 'DEVICE_TOKEN', 'IPC_SOCKET', 'TURN_URL', 'TURN_SECRET', 'ICE_TRANSPORT_POLICY'];

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !ENV_VARS.includes(k) && k !== 'REGISTRY_URL'));
  return spawnSync(process.execPath, [SIDECAR_BIN, ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
}

test('--help explains every setting, with its environment variable', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const v of ENV_VARS) assert.match(r.stdout, new RegExp(v), `--help mentions ${v}`);
});

test('a missing API key or a bad option is a clear error with exit code 2', () => {
  const r = run([]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /API_KEY \(or DEVICE_TOKEN\) is required/);
  const r2 = run(['--bogus'], { API_KEY: 'x' });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /bogus/);
  const r3 = run(['--ice-transport-policy', 'sometimes'], { API_KEY: 'x' });
  assert.equal(r3.status, 2);
  assert.match(r3.stderr, /ICE_TRANSPORT_POLICY/);
});

test("the socket appears before the registry is reached (well within MeshClient's 5 s); a stale one is replaced; SIGTERM removes it", async () => {
  const dir = tempDir();
  const sock = join(dir, 'agent.sock');
  // A stale socket file, as a crash leaves it: bound, then the listener dies without unlinking.
  const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => stale.once('exit', r));
  assert.ok(statSync(sock).isSocket(), 'stale socket exists');
  const port = await freePort(); // nothing listens there
  const t0 = Date.now();
  const child = spawn(process.execPath, [SIDECAR_BIN, '--ipc-socket', sock], {
    env: { ...process.env, REGISTRY_URL: `http://127.0.0.1:${port}`, API_KEY: 'ak_test_unreachable' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  try {
    await waitFor(() => /IPC socket ready/.test(out), 'socket ready log', 20_000);
    const ms = Date.now() - t0;
    const own = Number(/IPC socket ready at .* \((\d+) ms after start\)/.exec(out)![1]);
    assert.ok(own < 5000, `socket after ${own} ms`);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    // An agent can connect right away, before the registry is reached.
    await new Promise<void>((resolve, reject) => {
      const c = netConnect(sock, () => {
        c.destroy();
        resolve();
      });
      c.on('error', reject);
    });
    // The log names the URL it tried, so a wrong REGISTRY_URL is visible at a glance.
    await waitFor(() => new RegExp(`registry at http://127\\.0\\.0\\.1:${port} not reachable`).test(out), 'retry log naming the URL');
    assert.doesNotMatch(out, /ak_test_unreachable/, 'the key is never logged');
    console.log(`# socket ready ${own} ms after process start, ${ms} ms after spawn (machine load ${loadavg()[0]!.toFixed(1)})`);
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 0, out);
  }
  assert.equal(existsSync(sock), false, 'socket removed on shutdown');
});

test('a path that is not a socket is never deleted', () => {
  const dir = tempDir();
  const file = join(dir, 'precious.txt');
  writeFileSync(file, 'keep me');
  const r = run(['--ipc-socket', file], { API_KEY: 'x', REGISTRY_URL: 'http://127.0.0.1:9' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /not a socket; refusing/);
  assert.ok(existsSync(file));
});

test('`call` and the example agent, pointed at a socket that does not exist, say so in one line (no stack trace) and exit 1', () => {
  const sock = join(tempDir(), 'nobody.sock');
  const call = run(['call', 'delegate', '{"skill":"upper"}', '--ipc-socket', sock]);
  const example = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'sidecar-node', 'examples', 'upper-agent.ts')], {
    cwd: REPO,
    env: { ...process.env, IPC_SOCKET: sock },
    encoding: 'utf8',
    timeout: 30_000,
  });
  for (const [what, r] of [
    ['call', call],
    ['example agent', example],
  ] as const) {
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`cannot reach the sidecar at ${sock.replace(/[.]/g, '\\.')}: no socket there\\. Start it`), what);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `${what} printed a stack trace`);
  }
});

test("--help points to the dashboard's API keys card for keys", () => {
  assert.match(run(['--help']).stdout, /the dashboard's API keys card/);
});
