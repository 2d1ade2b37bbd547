import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSignal, decodeMeshMessage, checkMeshPayload, decodeAgentCommand, decodeRegistryEvent, LIMITS, encodeSignal } from './index.ts';

test('signaling: a valid offer parses and round-trips through encodeSignal', () => {
  const r = decodeSignal(encodeSignal('offer', 'peer-a', { sdp: 'v=0' }, 'peer-b'));
  assert.ok(r.ok);
  assert.equal(r.value.type, 'offer');
  assert.equal(r.value.target_id, 'peer-b');
});

test('signaling: oversize, bad JSON, unknown type and bad payload are refused with codes', () => {
  const big = JSON.stringify({ type: 'offer', peer_id: 'a', payload: { sdp: 'x'.repeat(LIMITS.signalFrameBytes) } });
  assert.deepEqual(
    [
      decodeSignal(big),
      decodeSignal('{nope'),
      decodeSignal('{"type":"hack","peer_id":"a"}'),
      decodeSignal('{"type":"offer","peer_id":"a","payload":{"sdp":5}}'),
    ].map((r) => (r.ok ? 'ok' : r.error.code)),
    ['too_large', 'bad_json', 'unknown_type', 'invalid'],
  );
});

test('signaling: peer ids with markup are refused', () => {
  const r = decodeSignal('{"type":"register","peer_id":"<img>"}');
  assert.equal(r.ok, false);
});

test('mesh message: only type is required; unknown types pass; known payloads are checked', () => {
  const m = decodeMeshMessage('{"type":"custom_thing","payload":"anything"}');
  assert.ok(m.ok);
  assert.ok(checkMeshPayload(m.value).ok);
  const bad = decodeMeshMessage('{"type":"task_request","payload":{"args":{}}}');
  assert.ok(bad.ok);
  assert.equal(checkMeshPayload(bad.value).ok, false);
  assert.equal(decodeMeshMessage('{"payload":{}}').ok, false);
});

test('ipc: connect accepts target_peer_id or peer_id; unknown types are named', () => {
  assert.ok(decodeAgentCommand('{"type":"connect","payload":{"peer_id":"b"}}').ok);
  assert.ok(decodeAgentCommand({ type: 'connect', payload: { target_peer_id: 'b' } }).ok);
  assert.equal(decodeAgentCommand('{"type":"connect","payload":{}}').ok, false);
  const u = decodeAgentCommand('{"type":"explode","payload":{}}');
  assert.ok(!u.ok && u.error.code === 'unknown_type' && u.error.message.includes('send'));
});

test('registry events: a policy event is checked in full before a peer enforces it; bad lines are null', () => {
  assert.deepEqual(decodeRegistryEvent('{"type":"policy","data":{"default":"deny","rules":[{"skill":"upper","peers":["a"]}]}}'), {
    type: 'policy',
    data: { default: 'deny', rules: [{ skill: 'upper', peers: ['a'], roles: [] }] },
  });
  assert.equal(decodeRegistryEvent('{"type":"policy","data":{"default":"maybe"}}'), null, 'a policy that does not parse is not applied');
  assert.equal(decodeRegistryEvent('{"type":"policy","data":{"rules":[{"skill":"bad name!"}]}}'), null);
  assert.equal(decodeRegistryEvent('{"type":"weather","data":{}}'), null, 'unknown type');
  assert.equal(decodeRegistryEvent('not json'), null);
  assert.equal(decodeRegistryEvent('{"type":"tasks","data":{"id":"t1","state":"pending"}}')?.type, 'tasks');
});
