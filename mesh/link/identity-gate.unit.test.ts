import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityGate, PROOF_TIMEOUT_MS, type LinkAuth } from './identity-gate.ts';

const conn = { localDescription: { sdp: 'local' }, remoteDescription: { sdp: 'remote' } };
const ACCEPTED = JSON.stringify({ type: 'identity_accepted' });
const tick = () => new Promise((r) => setImmediate(r));

/** A gate towards `remote` with a LinkAuth that accepts a proof text naming the remote. */
function setup(t: TestContext, auth: Partial<LinkAuth> = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sent: string[] = [];
  const events: string[] = [];
  const passed: unknown[][] = [];
  const host = {
    closed: false,
    send: (text: string) => void sent.push(text),
    timer: (ms: number, fn: () => void) => void setTimeout(() => host.closed || fn(), ms),
    pass: (held: unknown[]) => void passed.push(held),
    refused: (reason: string, message: string) => void events.push(`refused ${reason}: ${message}`),
  };
  const linkAuth: LinkAuth = {
    proofFrame: async (remote, c) => `proof of local for ${remote} over ${c.localDescription?.sdp}|${c.remoteDescription?.sdp}`,
    check: async (remote, _c, text) => (text === `proof from ${remote}` ? { ok: true } : { ok: false, reason: 'bad_proof', message: `not a proof: ${text}` }),
    refusal: (c) => JSON.stringify({ type: 'identity_refused', ...c }),
    ...auth,
  };
  const gate = new IdentityGate(linkAuth, 'remote', conn, host);
  return { gate, host, sent, events, passed };
}

test("the link passes only when the remote's proof checked out AND the remote accepted ours; held frames follow in order", async (t) => {
  const { gate, sent, passed } = setup(t);
  gate.start();
  await tick();
  assert.deepEqual(sent, ['proof of local for remote over local|remote'], 'our proof first, bound to this connection');
  gate.frame('proof from remote');
  await tick();
  assert.deepEqual(sent.slice(1), [ACCEPTED]);
  const binary = new Uint8Array([1]);
  gate.frame(binary);
  gate.frame('{"type":"early"}');
  assert.equal(passed.length, 0, 'the remote has not accepted ours yet');
  gate.frame(ACCEPTED);
  assert.deepEqual(passed, [[binary, '{"type":"early"}']]);
});

test('the remote may accept ours before its proof is checked; frames during the check are held', async (t) => {
  let pass!: () => void;
  const checked = new Promise<{ ok: true }>((resolve) => (pass = () => resolve({ ok: true })));
  const { gate, passed } = setup(t, { check: () => checked });
  gate.start();
  gate.frame(ACCEPTED);
  gate.frame('proof from remote');
  gate.frame('{"type":"during the check","note":"mentions \\"identity_refused\\" and is still a message"}');
  assert.equal(passed.length, 0);
  pass();
  await tick();
  assert.equal(passed.length, 1);
  assert.match(String(passed[0]![0]), /during the check/);
});

test('a bad proof is refused: the remote hears identity_refused, the link reports it and never passes', async (t) => {
  const { gate, sent, events, passed } = setup(t);
  gate.start();
  gate.frame('proof from someone else');
  gate.frame(ACCEPTED);
  await tick();
  assert.deepEqual(JSON.parse(sent.at(-1)!), { type: 'identity_refused', reason: 'bad_proof', message: 'not a proof: proof from someone else' });
  assert.deepEqual(events, ['refused bad_proof: not a proof: proof from someone else']);
  assert.equal(passed.length, 0);
});

test('identity_refused from the remote is read with the protocol schema and reported without answering', (t) => {
  const { gate, sent, events } = setup(t);
  gate.frame(JSON.stringify({ type: 'identity_refused', reason: 'unknown_ca', message: 'who signed this?' }));
  assert.deepEqual(events, ['refused unknown_ca: the remote refused our identity: who signed this?']);
  assert.deepEqual(sent, [], 'no refusal of a refusal');
});

test("a frame that only looks like a refusal (fails the schema) is taken as the remote's proof", async (t) => {
  const { gate, events } = setup(t);
  gate.frame(JSON.stringify({ type: 'identity_refused', reason: 'x'.repeat(65), message: '' }));
  await tick();
  assert.match(events[0]!, /^refused bad_proof: not a proof/);
});

test('no proof within the deadline, no proof of our own, or a check that throws: refused with a reason', async (t) => {
  const silent = setup(t);
  silent.gate.start();
  t.mock.timers.tick(PROOF_TIMEOUT_MS);
  assert.match(silent.events[0]!, /^refused no_proof: no identity proof within 10 s/);
  t.mock.timers.reset();

  const unpaired = setup(t, { proofFrame: () => Promise.reject(new Error('this device has no certificate yet')) });
  unpaired.gate.start();
  await tick();
  assert.deepEqual(unpaired.events, ['refused no_proof: cannot prove our identity: this device has no certificate yet']);
  t.mock.timers.reset();

  const broken = setup(t, { check: () => Promise.reject(new Error('boom')) });
  broken.gate.frame('proof from remote');
  await tick();
  assert.deepEqual(broken.events, ['refused check_failed: boom']);
});

test('once the connection is closed the gate does nothing', async (t) => {
  const { gate, host, sent, events, passed } = setup(t);
  gate.start();
  host.closed = true;
  gate.frame('proof from remote');
  gate.frame(ACCEPTED);
  t.mock.timers.tick(PROOF_TIMEOUT_MS);
  await tick();
  assert.deepEqual([sent, events, passed], [[], [], []]);
});
