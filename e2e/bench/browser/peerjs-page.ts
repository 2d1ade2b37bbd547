/**
 * The PeerJS baseline in a Chromium page, driven by the bench through `window.bench`.
 * The client is the npm `peerjs` package (node_modules/peerjs/dist), bundled by esbuild.
 */
import { Peer, type DataConnection } from 'peerjs';

let peer: Peer;
const conns = new Map<string, DataConnection>();
const doneWaiters = new Map<string, () => void>();

function wire(conn: DataConnection) {
  conns.set(conn.peer, conn);
  let expect = 0,
    got = 0;
  conn.on('data', (d: unknown) => {
    if (typeof d === 'string') {
      if (d[0] === 'p') conn.send('q' + d.slice(1));
      else if (d[0] === 'T') {
        expect = Number(d.slice(1));
        got = 0;
      } else if (d === 'D') doneWaiters.get(conn.peer)?.();
      else if (d[0] === 'q') doneWaiters.get(conn.peer)?.();
      return;
    }
    got += d instanceof ArrayBuffer ? d.byteLength : (d as ArrayBufferView).byteLength;
    if (expect > 0 && got >= expect) {
      expect = 0;
      conn.send('D');
    }
  });
}

const waitDone = (remote: string) =>
  new Promise<void>((r) =>
    doneWaiters.set(remote, () => {
      doneWaiters.delete(remote);
      r();
    }),
  );

const api = {
  /** Registers with the PeerJS server; resolves once it says OPEN. */
  init(host: string, port: number, id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      peer = new Peer(id, { host, port, path: '/', key: 'peerjs', secure: false, config: { iceServers: [] }, debug: 0 });
      peer.on('open', () => resolve());
      peer.on('error', (e) => reject(new Error(String(e))));
      peer.on('connection', (c) => wire(c));
    });
  },
  /** peer.connect() → DataConnection open, in ms. */
  connect(remote: string, serialization: string): Promise<number> {
    const t = performance.now();
    const conn = peer.connect(remote, { reliable: true, serialization });
    wire(conn);
    return new Promise((resolve, reject) => {
      conn.on('open', () => resolve(performance.now() - t));
      conn.on('error', (e) => reject(new Error(String(e))));
    });
  },
  disconnect(remote: string) {
    conns.get(remote)?.close();
    conns.delete(remote);
  },
  async ping(remote: string, n: number): Promise<number[]> {
    const conn = conns.get(remote)!;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const w = waitDone(remote);
      conn.send(`p${i}`);
      await w;
      out.push(performance.now() - t);
    }
    return out;
  },
  /** Sends `bytes` as `chunk`-sized ArrayBuffers through conn.send (PeerJS buffers and, in binary mode, re-chunks); ms until the receiver confirms. */
  async throughput(remote: string, bytes: number, chunk: number): Promise<number> {
    const conn = conns.get(remote)!;
    const buf = new Uint8Array(chunk).buffer;
    const done = waitDone(remote);
    const t = performance.now();
    conn.send('T' + bytes);
    for (let sent = 0; sent < bytes; sent += chunk) {
      conn.send(sent + chunk <= bytes ? buf : buf.slice(0, bytes - sent));
      // PeerJS queues internally without bound; yield now and then so the page stays responsive
      if ((sent / chunk) % 64 === 63) await new Promise((r) => setTimeout(r, 0));
    }
    await done;
    return performance.now() - t;
  },
};
(globalThis as unknown as { bench: typeof api }).bench = api;
