/**
 * Negotiation of one connection between two node-datachannel peers in this process, with the
 * signaling relay played by the test (so it can watch and reorder what is sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import type { z } from 'zod';
import type { SignalPayloads } from '../protocol/index.ts';
import { CAPS } from '../framing.ts';
import type { RTCPeerConnectionCtor } from '../types.ts';
import { waitFor } from '../test-support/node-peer.ts';
import { Connection, type ConnectionOptions, type Role } from './connection.ts';

type Payload<T extends keyof typeof SignalPayloads> = z.input<(typeof SignalPayloads)[T]>;
type Sent = { from: Role } & (
  | { type: 'offer'; payload: Payload<'offer'> }
  | { type: 'answer'; payload: Payload<'answer'> }
  | { type: 'ice_candidate'; payload: Payload<'ice_candidate'> }
);

/** An offerer and (once its offer is delivered) an answerer; `deliver` relays what was sent, in order or not. */
function pair(o: { withConn?: boolean } = {}) {
  const sent: Sent[] = [];
  const undelivered: Sent[] = [];
  const open = new Set<Role>();
  const make = (role: Role, connId: string): Connection => {
    const opts: ConnectionOptions = {
      connId,
      role,
      RTCPeerConnection: RTCPeerConnection as unknown as RTCPeerConnectionCtor,
      rtcConfig: { iceServers: [] },
      signal: (type, payload) => {
        const s = { from: role, type, payload } as Sent; // (T is one of the three)
        sent.push(s);
        undelivered.push(s);
        return true;
      },
      caps: CAPS,
      lowWaterBytes: 1024,
      onChannel: (dc) => dc.addEventListener('open', () => open.add(role)),
      onStateChange: () => {},
      debug: () => {},
    };
    return new Connection(opts);
  };
  const offerer = make('offerer', 'c1');
  let answerer: Connection | undefined;
  /** Relays the undelivered frames matching `which` (all by default), oldest first. */
  const deliver = async (which: (s: Sent) => boolean = () => true) => {
    for (const s of undelivered.filter(which)) {
      undelivered.splice(undelivered.indexOf(s), 1);
      const to = s.from === 'offerer' ? answerer : offerer;
      if (s.type === 'offer') {
        answerer = make('answerer', s.payload.conn ?? 'rust');
        await answerer.answer(s.payload.sdp, CAPS, o.withConn ?? true);
      } else if (s.type === 'answer') await offerer.applyAnswer(s.payload.sdp, s.payload.conn, CAPS);
      else await to!.addCandidate(s.payload);
    }
  };
  return { offerer, answerer: () => answerer!, sent, undelivered, deliver, open, close: () => [offerer, answerer].forEach((c) => c?.close()) };
}

test('offer and answer carry the connection id and capabilities; each side holds its candidates until its description is out', async () => {
  const p = pair();
  try {
    await p.offerer.offer();
    await waitFor(async () => {
      await p.deliver();
      return p.open.size === 2;
    }, 'the channel open on both sides');
    const [offer] = p.sent;
    assert.equal(offer!.type, 'offer');
    assert.deepEqual([offer!.payload.conn, offer!.payload.caps], ['c1', [...CAPS]]);
    const answerAt = p.sent.findIndex((s) => s.type === 'answer');
    assert.deepEqual([p.sent[answerAt]!.payload.conn, p.sent[answerAt]!.payload.caps], ['c1', [...CAPS]]);
    const candidates = p.sent.filter((s) => s.type === 'ice_candidate');
    assert.ok(candidates.some((s) => s.from === 'offerer') && candidates.some((s) => s.from === 'answerer'));
    assert.ok(
      candidates.every((s) => p.sent.indexOf(s) > answerAt),
      'no candidate before the answer is out (node-datachannel loses an early DTLS ClientHello)',
    );
    assert.ok(
      candidates.every((s) => s.payload.conn === 'c1'),
      'candidates name their connection',
    );
    assert.ok(p.offerer.has('ack') && p.answerer().has('keepalive') && !p.offerer.has('ice_restart'));
  } finally {
    p.close();
  }
});

test('candidates that arrive before the description they belong to wait for it', async () => {
  const p = pair();
  try {
    await p.offerer.offer();
    await p.deliver((s) => s.type === 'offer');
    await waitFor(() => p.undelivered.some((s) => s.from === 'answerer' && s.type === 'ice_candidate'), 'answerer candidates');
    // The answerer's candidates reach the offerer before its answer does.
    await p.deliver((s) => s.type === 'ice_candidate');
    await p.offerer.addCandidate({ candidate: 'candidate:1 1 UDP 1 192.0.2.1 9 typ host', conn: 'another-connection' });
    await waitFor(async () => {
      await p.deliver();
      return p.open.size === 2;
    }, 'the channel open on both sides');
  } finally {
    p.close();
  }
});

test('the answer to an offer without a connection id (the Rust sidecar) carries neither id nor capabilities', async () => {
  const p = pair({ withConn: false });
  try {
    await p.offerer.offer();
    await p.deliver((s) => s.type === 'offer');
    const answer = p.sent.find((s) => s.type === 'answer');
    assert.deepEqual(Object.keys(answer!.payload), ['sdp']);
  } finally {
    p.close();
  }
});

test('close() closes the connection once and cancels its timers', async () => {
  const p = pair();
  let fired = false;
  await p.offerer.offer();
  p.offerer.timer(50, () => (fired = true));
  assert.equal(p.offerer.close(), 0, 'nothing was buffered');
  assert.equal(p.offerer.close(), 0);
  assert.ok(p.offerer.closed);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fired, false);
  assert.equal(p.offerer.connectionState, 'closed');
});
