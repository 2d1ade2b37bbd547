/**
 * Bench actions on top of OUR mesh core (isomorphic: a Node child process and a Chromium page run
 * the same code). Throughput goes through `Mesh.send`, i.e. JSON MeshMessages that the mesh chunks
 * into DataChannel frames and paces by bufferedAmount; ping is `Mesh.request` → reply.
 */
import type { Mesh } from '../../../mesh/index.ts';

export interface MeshBench {
  /** Mesh.connect(peer) → open, ms */
  connect(peer: string): Promise<number>;
  /** `bytes` of payload as MeshMessages of `msgBytes` payload each; MB/s (10^6 B/s) until the receiver confirms */
  throughput(peer: string, bytes: number, msgBytes: number): Promise<number>;
  /** n sequential request/reply round trips, ms each */
  ping(peer: string, n: number): Promise<number[]>;
}

export function meshBench(mesh: Mesh, now: () => number): MeshBench {
  let expect = 0,
    got = 0;
  const doneWaiters = new Map<string, () => void>();
  mesh.on('bench_start', (m) => {
    expect = (m.payload as { bytes: number }).bytes;
    got = 0;
  });
  mesh.on('bench_blob', (m, from) => {
    got += (m.payload as { data: string }).data.length;
    if (expect > 0 && got >= expect) {
      expect = 0;
      void mesh.send(from, { type: 'bench_done' });
    }
  });
  mesh.on('bench_done', (_m, from) => doneWaiters.get(from)?.());
  mesh.on('bench_ping', (m, from) => {
    void mesh.send(from, { type: 'bench_pong', request_id: m.request_id, payload: m.payload });
  });

  return {
    async connect(peer) {
      const t = now();
      await mesh.connect(peer, 30000);
      return now() - t;
    },
    async throughput(peer, bytes, msgBytes) {
      const data = 'x'.repeat(msgBytes);
      const done = new Promise<void>((r) =>
        doneWaiters.set(peer, () => {
          doneWaiters.delete(peer);
          r();
        }),
      );
      const t = now();
      await mesh.send(peer, { type: 'bench_start', payload: { bytes } });
      for (let sent = 0; sent < bytes; sent += msgBytes) {
        await mesh.send(peer, { type: 'bench_blob', payload: { data: sent + msgBytes <= bytes ? data : data.slice(0, bytes - sent) } });
      }
      await done;
      return bytes / 1e6 / ((now() - t) / 1000);
    },
    async ping(peer, n) {
      const out: number[] = [];
      const payload = { args: 'x'.repeat(16) };
      for (let i = 0; i < n; i++) {
        const t = now();
        await mesh.request(peer, { type: 'bench_ping', payload }, { timeoutMs: 10000 });
        out.push(now() - t);
      }
      return out;
    },
  };
}
