/**
 * The WebRTC stack a sidecar picks, with the real libraries: node-datachannel where its binary
 * loads (it does on this x86-64 machine), werift when asked; the log line names the choice; werift
 * announces the 256 KiB frames of this core instead of its 64 KiB default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWebRtcStack } from './webrtc.ts';
import { LIMITS } from '../mesh/protocol/limits.ts';
import type { Logger } from '../mesh/types.ts';

function recording(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (m: string) => void lines.push(m);
  return { lines, debug: add, info: add, warn: add, error: add };
}

test('without a choice, node-datachannel is used where its binary loads, and one line says so', async () => {
  const log = recording();
  const s = await loadWebRtcStack(undefined, log);
  assert.equal(s.name, 'node-datachannel');
  assert.deepEqual(log.lines, [`[webrtc] using node-datachannel (native libdatachannel) on ${process.platform}-${process.arch}`]);
  // libdatachannel reads TURN credentials from a URL: they are percent-encoded for it.
  assert.deepEqual(s.iceServers([{ urls: 'turn:h:3478', username: '1700000000:mesh', credential: 'a/b+c=' }]), [
    { urls: 'turn:h:3478', username: '1700000000%3Amesh', credential: 'a%2Fb%2Bc%3D' },
  ]);
});

test('WEBRTC_STACK=werift: werift, raw TURN credentials, and offers that announce 256 KiB messages', async () => {
  const log = recording();
  const s = await loadWebRtcStack('werift', log);
  assert.equal(s.name, 'werift');
  assert.match(log.lines.join('\n'), /^\[webrtc\] using werift \(pure TypeScript\) on .*, as WEBRTC_STACK asks$/);
  const servers = [{ urls: 'turn:h:3478', username: '1700000000:mesh', credential: 'a/b+c=' }];
  assert.deepEqual(s.iceServers(servers), servers);
  const pc = new s.RTCPeerConnection({ iceServers: [] });
  try {
    pc.createDataChannel('mesh', { ordered: true });
    const offer = await pc.createOffer();
    assert.match(offer.sdp ?? '', new RegExp(`a=max-message-size:${LIMITS.dataChannelFrameBytes}\\b`));
  } finally {
    pc.close();
  }
});
