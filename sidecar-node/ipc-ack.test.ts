/**
 * IPC delivery acknowledgements (the `ack_id` extension): real registry, real sidecar processes,
 * agents on the Unix socket. An agent that asks is told when the remote peer holds its message;
 * when its sidecar is `kill -9`ed with messages not yet confirmed, the SDK reports each as failed.
 * An agent that never asks (the Python MeshClient's way) sees only the Rust sidecar's lines.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RegistryProcess } from '../server/testing.ts';
import { rawClient, startSidecarProcess, waitFor, type SidecarProcess } from './test-support.ts';
import { AgentError, type AgentClient } from '../mesh/agent/client.ts';
import type { MeshMessage } from '../mesh/protocol/index.ts';

let reg: RegistryProcess;
let a: SidecarProcess, b: SidecarProcess;
let sender: AgentClient, receiver: AgentClient;
const got: MeshMessage[] = [];
const clients: AgentClient[] = [];

/** Fails instead of hanging when a promise never settles. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<never>((_, j) => (t = setTimeout(() => j(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

before(async () => {
  reg = await startRegistry();
  [a, b] = await Promise.all([startSidecarProcess(reg, 'ack-a'), startSidecarProcess(reg, 'ack-b')]);
  sender = await a.agent({ name: 'sender', acks: true });
  receiver = await b.agent({ name: 'receiver' });
  clients.push(sender, receiver);
  receiver.on('message', (m) => got.push(m));
  await waitFor(async () => (await sender.listPeers()).includes('ack-b') && (await receiver.listPeers()).includes('ack-a'), 'link a-b', 30_000);
});

after(async () => {
  try {
    b?.child.kill('SIGCONT');
  } catch {
    /* gone */
  }
  for (const cl of clients) cl.close();
  await Promise.all([a, b].map((s) => s?.stop()));
  await reg?.stop();
});

test('an agent asking for acks is told once the remote peer holds its message, and of failures by name', async () => {
  const ack = await within(sender.sendAcked('ack-b', { type: 'acked_note', request_id: 'n-1', payload: { n: 1 } }), 10_000, 'the ack');
  assert.equal(ack.confirmed, 'peer');
  assert.equal(ack.target_peer, 'ack-b');
  assert.equal(ack.request_id, 'n-1');
  await waitFor(() => got.find((m) => m.type === 'acked_note'), 'acked_note at the receiver');

  const local = await sender.sendAcked('local', { type: 'task_request', request_id: 'l-1', payload: { skill: 'echo', args: 1 } });
  assert.equal(local.confirmed, 'local');

  const bc = await sender.broadcastAcked({ type: 'acked_announce', payload: {} });
  assert.equal(bc.confirmed, 'peer');
  assert.deepEqual(bc.peers, ['ack-b']);
  await waitFor(() => got.find((m) => m.type === 'acked_announce'), 'broadcast at the receiver');

  const err = await sender.sendAcked('nobody', { type: 'x', request_id: 'x-1', payload: {} }).then(
    () => assert.fail('a send to a peer without a link must fail'),
    (e: unknown) => e as AgentError,
  );
  assert.ok(err instanceof AgentError);
  assert.equal(err.code, 'not_connected');
  assert.equal(err.details.request_id, 'x-1');
  assert.match(String(err.details.ack_id), /.+/);

  // plain send() with acks on: failures arrive as error events naming the message
  const errors: { code: string; ack_id?: unknown; request_id?: unknown }[] = [];
  const off = sender.on('error', (e) => errors.push(e));
  sender.send('nobody', { type: 'x', request_id: 'x-2', payload: {} });
  sender.send('ack-b', { type: 'plain_acked', payload: {} });
  await waitFor(() => errors.length === 1 && sender.unconfirmed === 0, 'the failure of x-2 and the confirmation of the other');
  off();
  assert.equal(errors[0]!.code, 'not_connected');
  assert.equal(errors[0]!.request_id, 'x-2');
  assert.equal(typeof errors[0]!.ack_id, 'string');
});

test('an agent that never asks for acks (Python MeshClient style) sees no new line types', async () => {
  const { sock, lines } = await rawClient(a.socket);
  const write = (o: unknown) => sock.write(JSON.stringify(o) + '\n');
  try {
    write({ type: 'send', payload: { target_peer: 'ack-b', message: { type: 'raw_note', request_id: 'raw-1', payload: {} } } });
    write({ type: 'send', payload: { target_peer: 'nobody', message: { type: 'raw_note', request_id: 'raw-2', payload: {} } } });
    write({ type: 'broadcast', payload: { message: { type: 'raw_announce', payload: {} } } });
    await waitFor(() => got.find((m) => m.type === 'raw_note') && got.find((m) => m.type === 'raw_announce'), 'raw messages at the receiver');
    // A later acknowledged send over the same link is confirmed after the raw ones would have been.
    await sender.sendAcked('ack-b', { type: 'after_raw', payload: {} });
    write({ type: 'list_peers', payload: {} });
    await waitFor(() => lines.find((l) => l.type === 'peer_list'), 'peer_list');
    const rust = new Set(['message', 'peer_connected', 'peer_disconnected', 'peer_list', 'error', 'registered']);
    for (const l of lines) {
      assert.ok(rust.has(l.type), `unexpected line type ${l.type}`);
      assert.equal('ack_id' in l.payload, false, `ack_id in ${JSON.stringify(l)}`);
    }
    const e = lines.find((l) => l.type === 'error');
    assert.equal(e?.payload.code, 'not_connected');
    assert.equal(e?.payload.request_id, 'raw-2');
  } finally {
    sock.destroy();
  }
});

test('kill -9 of the sidecar with unconfirmed sends: the SDK reports each of them as failed, by name', async () => {
  // The receiving sidecar is stopped (SIGSTOP), so it cannot acknowledge anything sent now.
  b.child.kill('SIGSTOP');
  const errors: { code: string; ack_id?: unknown; request_id?: unknown }[] = [];
  sender.on('error', (e) => errors.push(e));
  const acked = [1, 2, 3].map((i) =>
    sender.sendAcked('ack-b', { type: 'doomed', request_id: `d-${i}`, payload: { i } }).then(
      () => 'confirmed',
      (e: AgentError) => e,
    ),
  );
  sender.send('ack-b', { type: 'doomed', request_id: 'd-4', payload: {} });
  sender.send('ack-b', { type: 'doomed', request_id: 'd-5', payload: {} });
  const req = sender.request('ack-b', { type: 'task_request', request_id: 'd-6', payload: { skill: 'echo', args: 1 } }, { timeoutMs: 60_000 }).then(
    () => 'answered',
    (e: AgentError) => e,
  );
  // Two round trips: the sidecar has read and passed on every line above, yet confirmed none.
  await sender.listPeers();
  await sender.listPeers();
  assert.equal(sender.unconfirmed, 6, 'nothing is confirmed while the receiving peer cannot acknowledge');
  await a.kill();
  const outcomes = await within(Promise.all(acked), 10_000, 'the SDK to report the unconfirmed sends');
  for (const [i, o] of outcomes.entries()) {
    assert.ok(o instanceof AgentError, `d-${i + 1} must fail, got ${String(o)}`);
    assert.equal(o.code, 'closed');
    assert.equal(o.details.request_id, `d-${i + 1}`);
    assert.equal(o.details.target_peer, 'ack-b');
    assert.match(o.message, /may not have been delivered/);
  }
  await waitFor(() => errors.length >= 2, 'error events for the plain sends');
  assert.deepEqual(errors.map((e) => [e.code, e.request_id]).sort(), [
    ['closed', 'd-4'],
    ['closed', 'd-5'],
  ]);
  assert.ok(errors.every((e) => typeof e.ack_id === 'string'));
  const r = await within(req, 10_000, 'the request to fail');
  assert.ok(r instanceof AgentError && r.code === 'closed', 'the request fails too');
  assert.equal(sender.unconfirmed, 0);
  b.child.kill('SIGCONT');
});
