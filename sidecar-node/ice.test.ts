import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeForLibdatachannel, turnFromSecret } from './ice.ts';

test('TURN REST credentials are percent-encoded for libdatachannel and decode back exactly', () => {
  const [turn] = turnFromSecret('turn:127.0.0.1:3478', 's3cret');
  assert.match(String(turn!.username), /^\d+:mesh$/);
  const [enc] = encodeForLibdatachannel([turn!, { urls: ['stun:127.0.0.1:3478'] }]);
  // Nothing left that would split `turn:user:pass@host` in the wrong place.
  assert.doesNotMatch(String(enc!.username) + String(enc!.credential), /[:@/+=]/);
  assert.equal(decodeURIComponent(String(enc!.username)), turn!.username);
  assert.equal(decodeURIComponent(String(enc!.credential)), turn!.credential);
  assert.deepEqual(encodeForLibdatachannel([{ urls: ['stun:x'] }]), [{ urls: ['stun:x'] }]);
});
