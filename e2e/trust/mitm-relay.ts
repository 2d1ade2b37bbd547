/**
 * A man in the middle on the signaling path, for tests: a WebSocket proxy that stands between ONE
 * peer (the victim) and the registry and takes over every DataChannel between the victim and
 * another peer. It answers the victim's offers itself and dials the other peer in the victim's
 * name with its OWN DTLS certificates (rewriting the `a=fingerprint` lines by construction), then
 * forwards every DataChannel frame both ways. DTLS succeeds on both legs — only the identity
 * proofs (bound to the fingerprints each end sees) can notice.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { PeerLink } from '../../mesh/peer-link.ts';
import { decodeSignal, encodeSignal, type SignalMessage } from '../../mesh/protocol/index.ts';
import type { RTCPeerConnectionCtor } from '../../mesh/types.ts';

export interface MitmRelay {
  /** ws://127.0.0.1:PORT/ws — give it to the victim as SIGNALING_URL. */
  url: string;
  /** How many legs (victim↔relay, relay↔other) reached an open DataChannel: 2 = fully in the middle. */
  legsOpen(): number;
  /** Frames carried from one leg to the other. */
  forwarded(): number;
  close(): Promise<void>;
}

type Relayed = SignalMessage<'offer' | 'answer' | 'ice_candidate'>;
const RELAYED = new Set(['offer', 'answer', 'ice_candidate']);

export async function startMitmRelay(o: { registryWsUrl: string; victim: string; other: string }): Promise<MitmRelay> {
  let legs = 0;
  let forwarded = 0;
  const links: PeerLink[] = [];
  const sockets = new Set<WebSocket>();
  const http: Server = createServer((_q, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, handleProtocols: (p) => (p.has('chatixia-jwt') ? 'chatixia-jwt' : false) });

  wss.on('connection', (down, req) => {
    sockets.add(down);
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const up = new WebSocket(o.registryWsUrl, protocols);
    sockets.add(up);
    const toUp: string[] = [];
    const sendUp = (t: string) => (up.readyState === WebSocket.OPEN ? up.send(t) : toUp.push(t));
    up.on('open', () => {
      for (const t of toUp.splice(0)) up.send(t);
    });
    const ctor = RTCPeerConnection as unknown as RTCPeerConnectionCtor;
    const common = { RTCPeerConnection: ctor, rtcConfig: () => ({ iceServers: [] }), shouldRedial: () => false, connectTimeoutMs: 15_000 };
    // Leg 1: the relay plays `other` towards the victim. Leg 2: it plays the victim towards `other`.
    const towardsVictim = new PeerLink({
      ...common,
      localId: o.other,
      remoteId: o.victim,
      signal: (type, payload) => {
        if (down.readyState !== WebSocket.OPEN) return false;
        down.send(encodeSignal(type, o.other, payload, o.victim));
        return true;
      },
    });
    const towardsOther = new PeerLink({
      ...common,
      localId: o.victim,
      remoteId: o.other,
      signal: (type, payload) => {
        sendUp(encodeSignal(type, o.victim, payload, o.other));
        return true;
      },
    });
    links.push(towardsVictim, towardsOther);
    const pipe = (from: PeerLink, to: PeerLink) => {
      const held: string[] = [];
      from.on('open', () => {
        legs++;
      });
      to.on('open', () => {
        for (const t of held.splice(0)) void to.send(t).catch(() => {});
      });
      from.on('message', (text) => {
        forwarded++;
        if (to.isOpen) void to.send(text).catch(() => {});
        else held.push(text);
      });
    };
    pipe(towardsVictim, towardsOther);
    pipe(towardsOther, towardsVictim);

    down.on('message', (data) => {
      const text = String(data);
      const d = decodeSignal(text);
      if (d.ok && RELAYED.has(d.value.type) && d.value.target_id === o.other) {
        // The victim's offer/answer/candidate for `other` ends at the relay; the relay dials `other` itself.
        if (d.value.type === 'offer' && !towardsOther.active) towardsOther.dial();
        void towardsVictim.handleSignal(d.value as Relayed);
        return;
      }
      sendUp(text);
    });
    up.on('message', (data) => {
      const text = String(data);
      const d = decodeSignal(text);
      if (d.ok && RELAYED.has(d.value.type) && d.value.peer_id === o.other) {
        if (d.value.type === 'offer' && !towardsVictim.active) towardsVictim.dial();
        void towardsOther.handleSignal(d.value as Relayed);
        return;
      }
      if (down.readyState === WebSocket.OPEN) down.send(text);
    });
    const end = (ws: WebSocket, code: number, reason: Buffer) => {
      if (ws.readyState === WebSocket.OPEN) ws.close(code >= 4000 || code === 1000 ? code : 1000, reason.toString().slice(0, 120));
    };
    up.on('close', (code, reason) => end(down, code, reason));
    down.on('close', (code, reason) => end(up, code, reason));
    up.on('error', () => down.close());
    down.on('error', () => up.close());
  });

  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    legsOpen: () => legs,
    forwarded: () => forwarded,
    close: async () => {
      for (const l of links) l.close();
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise((r) => http.close(r));
    },
  };
}
