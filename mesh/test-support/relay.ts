/**
 * Test-only: a minimal signaling relay over a real WebSocket server, speaking the registry's
 * signaling contract (register → peer_list, peer_joined/left, relay of offer/answer/ice_candidate),
 * so mesh-core tests run real node-datachannel links without the registry. The token is taken as
 * the peer id. Not product code (the registry lives in server/).
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export interface Relay {
  url: string;
  /** Frames relayed, by type (tests count offers). */
  counts: Map<string, number>;
  /** Drops every socket (as a registry restart would) and refuses new ones while `down`. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startRelay(): Promise<Relay> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has('chatixia-jwt') ? 'chatixia-jwt' : false) });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const peers = new Map<string, WebSocket>();
  const counts = new Map<string, number>();
  let down = false;
  wss.on('connection', (ws, req) => {
    if (down) return ws.close(1013, 'down');
    const protos = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    const id = protos[1] ?? '';
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
      if (m.type === 'register') {
        const old = peers.get(id);
        if (old && old !== ws) old.close(4001, 'replaced');
        ws.send(JSON.stringify({ type: 'peer_list', peer_id: '', payload: { peers: [...peers.keys()].filter((p) => p !== id) } }));
        for (const [p, s] of peers) if (p !== id) s.send(JSON.stringify({ type: 'peer_joined', peer_id: '', payload: { peer_id: id } }));
        peers.set(id, ws);
      } else if (['offer', 'answer', 'ice_candidate'].includes(m.type) && m.peer_id === id) {
        peers.get(m.target_id)?.send(JSON.stringify(m));
      }
    });
    ws.on('close', () => {
      if (peers.get(id) !== ws) return;
      peers.delete(id);
      for (const s of peers.values()) s.send(JSON.stringify({ type: 'peer_left', peer_id: '', payload: { peer_id: id } }));
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    counts,
    setDown(d) {
      down = d;
      if (d) {
        for (const s of wss.clients) s.terminate();
        peers.clear();
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of wss.clients) s.terminate();
        wss.close(() => r());
      }),
  };
}
