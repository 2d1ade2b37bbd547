import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchRebinding } from './join.ts';

const sdp = (fp: string) => `v=0\r\na=fingerprint:sha-256 ${fp}\r\n`;
const A = 'AA:'.repeat(31) + 'AA';
const B = 'BB:'.repeat(31) + 'BB';
const M = 'CC:'.repeat(31) + 'CC';

/** Stands in for an RTCPeerConnection whose descriptions change over a renegotiation. */
class FakeConnection extends EventTarget {
  localDescription = { sdp: sdp(A) };
  remoteDescription = { sdp: sdp(B) };
  signalingState = 'stable';
  closed = 0;
  close() {
    this.closed++;
    this.signalingState = 'closed';
  }
  renegotiate(remoteFp: string) {
    this.signalingState = 'have-local-offer';
    this.dispatchEvent(new Event('signalingstatechange'));
    this.remoteDescription = { sdp: sdp(remoteFp) };
    this.signalingState = 'stable';
    this.dispatchEvent(new Event('signalingstatechange'));
  }
}

test('an ICE restart with the same DTLS fingerprints keeps the link; other fingerprints close it', () => {
  const same = new FakeConnection();
  watchRebinding(same, 'p');
  same.renegotiate(B);
  same.renegotiate(B);
  assert.equal(same.closed, 0);

  const swapped = new FakeConnection();
  const seen: string[] = [];
  watchRebinding(swapped, 'peer-x', (p) => seen.push(p));
  swapped.renegotiate(M);
  assert.equal(swapped.closed, 1);
  assert.deepEqual(seen, ['peer-x']);
});
