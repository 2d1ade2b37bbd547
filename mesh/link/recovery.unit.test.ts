import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Capability } from '../framing.ts';
import { Recovery, type Recoverable } from './recovery.ts';

/** A connection stand-in: state, capabilities, role, and timers that die with it. */
function setup(
  t: TestContext,
  o: { role?: 'offerer' | 'answerer'; caps?: Capability[]; iceRestart?: boolean; opened?: boolean; restart?: () => Promise<void> } = {},
) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const log: string[] = [];
  const conn: Recoverable & { connectionState: RTCPeerConnectionState; closed: boolean } = {
    closed: false,
    opened: o.opened ?? true,
    role: o.role ?? 'offerer',
    connectionState: 'connected',
    has: (cap) => (o.caps ?? ['ice_restart']).includes(cap),
    timer: (ms, fn) => void setTimeout(() => conn.closed || fn(), ms),
    restartIce: o.restart ?? (async () => void log.push('restart offer')),
  };
  const recovery = new Recovery(conn, {
    iceRestart: o.iceRestart ?? true,
    timeoutMs: 10_000,
    disconnectedGraceMs: 3_000,
    fail: (why) => {
      log.push(`fail: ${why}`);
      conn.closed = true;
    },
    reconnecting: (why) => log.push(`reconnecting: ${why}`),
    recovered: (ms) => log.push(`recovered after ${ms} ms`),
  });
  const state = (s: RTCPeerConnectionState) => {
    conn.connectionState = s;
    recovery.onConnectionState();
  };
  return { conn, recovery, log, state };
}

test('the offerer restarts ICE when the connection fails; the first frame back ends the recovery', async (t) => {
  const { recovery, log, state } = setup(t);
  state('failed');
  await Promise.resolve();
  assert.deepEqual(log, ['reconnecting: connection failed', 'restart offer']);
  assert.equal(recovery.recovering, true);
  state('failed');
  assert.equal(log.length, 2, 'one recovery at a time');
  t.mock.timers.tick(1_500);
  recovery.frameArrived();
  assert.equal(log.at(-1), 'recovered after 1500 ms');
  t.mock.timers.tick(20_000);
  assert.equal(log.length, 3, 'the restart deadline no longer applies');
});

test("the answerer waits for the offerer's restart; no frame within the deadline = a fresh connection", (t) => {
  const { log, state } = setup(t, { role: 'answerer' });
  state('failed');
  assert.deepEqual(log, ['reconnecting: connection failed']);
  t.mock.timers.tick(9_999);
  assert.equal(log.length, 1);
  t.mock.timers.tick(1);
  assert.deepEqual(log.at(-1), 'fail: connection failed; ICE restart did not help');
});

test('without ICE restart on both ends, or before the channel opened, recovery is a fresh connection at once', (t) => {
  for (const o of [{ iceRestart: false }, { caps: [] as Capability[] }, { opened: false }]) {
    const { log, state } = setup(t, o);
    state('failed');
    assert.deepEqual(log, ['fail: connection failed'], JSON.stringify(o));
    t.mock.timers.reset();
  }
});

test('disconnected gets a grace period: back to connected within it = nothing, still disconnected after it = recover', (t) => {
  const { log, state } = setup(t);
  state('disconnected');
  t.mock.timers.tick(2_000);
  state('connected');
  t.mock.timers.tick(2_000);
  assert.deepEqual(log, []);
  state('disconnected');
  t.mock.timers.tick(3_000);
  assert.deepEqual(log, ['reconnecting: connection disconnected', 'restart offer']);
});

test('a closed RTCPeerConnection fails at once; a restart that cannot be sent fails with its reason', async (t) => {
  const closed = setup(t);
  closed.state('closed');
  assert.deepEqual(closed.log, ['fail: connection closed']);
  t.mock.timers.reset();

  const broken = setup(t, { restart: async () => Promise.reject(new Error('signaling is down')) });
  broken.recovery.recover('no frame from the remote for 12000 ms');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(broken.log, [
    'reconnecting: no frame from the remote for 12000 ms',
    'fail: no frame from the remote for 12000 ms; ICE restart impossible: signaling is down',
  ]);
});

test('a closed connection ignores state changes and recovery requests', (t) => {
  const { conn, recovery, log, state } = setup(t);
  conn.closed = true;
  state('failed');
  recovery.recover('quiet');
  recovery.frameArrived();
  assert.deepEqual(log, []);
});
