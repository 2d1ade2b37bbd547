/**
 * PeerLink between node-datachannel peers in this process, signaling relayed by the test: two
 * links of this core, and one link towards a peer that speaks only what the Rust sidecar speaks
 * (no connection id, no capabilities, plain JSON text frames).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { PeerLink, type PeerLinkOptions } from './peer-link.ts';
import { MAX_FRAME_BYTES } from './framing.ts';
import { waitFor } from './test-support/node-peer.ts';
import type { RTCPeerConnectionCtor } from './types.ts';
import type { SignalMessage } from './protocol/index.ts';

const RTC = RTCPeerConnection as unknown as RTCPeerConnectionCtor;
type Relayed = SignalMessage<'offer' | 'answer' | 'ice_candidate'>;

function link(localId: string, remoteId: string, deliver: (msg: Relayed) => void, o: Partial<PeerLinkOptions> = {}): PeerLink {
  return new PeerLink({
    localId,
    remoteId,
    RTCPeerConnection: RTC,
    rtcConfig: () => ({ iceServers: [] }),
    signal: (type, payload) => {
      // Relayed as the registry would: after a JSON round trip, asynchronously.
      const msg = JSON.parse(JSON.stringify({ type, peer_id: localId, payload })) as Relayed;
      setImmediate(() => deliver(msg));
      return true;
    },
    shouldRedial: () => true,
    ...o,
  });
}

test('two links of this core open, carry messages both ways, and confirm delivery with acks', async () => {
  const links: { a?: PeerLink; b?: PeerLink } = {};
  links.a = link('pl-a', 'pl-b', (m) => void links.b!.handleSignal(m));
  links.b = link('pl-b', 'pl-a', (m) => void links.a!.handleSignal(m));
  const { a, b } = links;
  try {
    const atB: string[] = [];
    const atA: string[] = [];
    b.on('message', (t) => atB.push(t));
    a.on('message', (t) => atA.push(t));
    a.dial();
    await waitFor(() => a.isOpen && b.isOpen, 'both ends open');
    assert.equal(a.connectionId, b.connectionId, 'one connection, named by the dialer');
    assert.ok(a.extended && b.extended);
    assert.equal(await a.sendConfirmed('{"type":"hello"}'), 'peer');
    const big = JSON.stringify({ type: 'bulk', data: 'x'.repeat(3 * MAX_FRAME_BYTES) });
    await b.send(big);
    await waitFor(() => atB.length === 1 && atA.length === 1, 'a message each way');
    assert.equal(atB[0], '{"type":"hello"}');
    assert.ok(atA[0] === big, 'the chunked message arrived intact');
    const s = await a.stats();
    assert.equal(s.path, 'host');
  } finally {
    a.close();
    b.close();
  }
  assert.equal(a.state, 'closed');
});

test('towards a peer that speaks only the Rust sidecar\'s subset: plain text frames, no chunking, "sent" confirmations', async () => {
  // The Rust-like side: a bare RTCPeerConnection that answers with just an SDP and echoes text.
  const rust = new RTC({ iceServers: [] });
  const framesAtRust: unknown[] = [];
  let l: PeerLink | undefined;
  const toLink = (type: 'answer' | 'ice_candidate', payload: Record<string, unknown>) =>
    setImmediate(() => void l!.handleSignal(JSON.parse(JSON.stringify({ type, peer_id: 'rust', payload })) as Relayed));
  rust.onicecandidate = (ev) => {
    if (ev.candidate?.candidate) toLink('ice_candidate', { candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid });
  };
  rust.ondatachannel = (ev) => {
    ev.channel.onmessage = (m) => {
      framesAtRust.push(m.data);
      if (typeof m.data === 'string') ev.channel.send(m.data);
    };
  };
  l = link(
    'node-a',
    'rust',
    (m) => {
      void (async () => {
        if (m.type === 'offer') {
          await rust.setRemoteDescription({ type: 'offer', sdp: m.payload.sdp });
          const answer = await rust.createAnswer();
          await rust.setLocalDescription(answer);
          toLink('answer', { sdp: answer.sdp ?? rust.localDescription!.sdp });
        } else if (m.type === 'ice_candidate') {
          await rust.addIceCandidate({ candidate: m.payload.candidate, sdpMid: m.payload.sdpMid ?? '0' }).catch(() => {});
        }
      })();
    },
    { keepaliveMs: 100 },
  );
  try {
    const echoed: string[] = [];
    l.on('message', (t) => echoed.push(t));
    l.dial();
    await waitFor(() => l!.isOpen, 'link open');
    assert.equal(l.extended, false);
    assert.equal(await l.sendConfirmed('{"type":"note"}'), 'sent', 'a Rust peer cannot acknowledge');
    await assert.rejects(l.send(JSON.stringify({ type: 'bulk', data: 'y'.repeat(2 * MAX_FRAME_BYTES) })), /needs chunking/);
    await waitFor(() => echoed.length === 1, 'the echo');
    await new Promise((r) => setTimeout(r, 300)); // three keepalive intervals
    assert.deepEqual(framesAtRust, ['{"type":"note"}'], 'only the message: no resume, ack or ping frames');
  } finally {
    l.close();
    rust.close();
  }
});
