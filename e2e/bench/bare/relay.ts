/**
 * The baseline's signaling: a minimal WebSocket relay (ws), the least a WebRTC app needs.
 * A client connects to `/?id=X`; it gets `{type:'peers', peers}` (the others already here) and the
 * others get `{type:'joined', id}` — the same shape as the registry's peer_list / peer_joined.
 * Any frame with a `to` field is forwarded to that client with `from` set. Ids starting with
 * "ctl" are the bench's controller: relayed to, but never listed as peers.
 * Run as a child process: prints `{"ready":true,"port":N}` once listening on 127.0.0.1.
 */
import { WebSocketServer, type WebSocket } from 'ws';

export function startRelay(port = 0): Promise<{ port: number; close(): void }> {
  const clients = new Map<string, WebSocket>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 1024 * 1024 });
  wss.on('connection', (ws, req) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    if (!/^[\w.-]{1,64}$/.test(id)) {
      ws.close(4000, 'bad id');
      return;
    }
    clients.get(id)?.close(4001, 'replaced');
    const isPeer = !id.startsWith('ctl');
    if (isPeer) {
      const peers = [...clients.keys()].filter((k) => !k.startsWith('ctl'));
      ws.send(JSON.stringify({ type: 'peers', peers }));
      for (const [k, c] of clients) if (!k.startsWith('ctl') || k === 'ctl') c.send(JSON.stringify({ type: 'joined', id }));
    }
    clients.set(id, ws);
    ws.on('message', (data) => {
      let msg: { to?: unknown };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (typeof msg.to !== 'string') return;
      clients.get(msg.to)?.send(JSON.stringify({ ...msg, from: id }));
    });
    ws.on('close', () => {
      if (clients.get(id) !== ws) return;
      clients.delete(id);
      if (isPeer) for (const c of clients.values()) c.send(JSON.stringify({ type: 'left', id }));
    });
    ws.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      const addr = wss.address();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : 0, close: () => wss.close() });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await startRelay();
  console.log(JSON.stringify({ ready: true, port: r.port }));
  process.on('SIGTERM', () => {
    r.close();
    process.exit(0);
  });
}
