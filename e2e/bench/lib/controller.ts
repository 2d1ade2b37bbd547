/** The bench's handle on the baseline: the relay (its own process) and a controller socket on it. */
import WebSocket from 'ws';
import { spawnReady, spawnTs, type Child, waitFor } from './proc.ts';

export interface OpenEvent {
  peer: string;
  remote: string;
  t: number;
}

export class BareNet {
  readonly opens: OpenEvent[] = [];
  readonly ready = new Map<string, number>();
  readonly failures: string[] = [];
  /** Links the bare peers had to start over (node-datachannel refused an answer or DTLS failed). */
  retries = 0;
  private reqs = new Map<number, (m: any) => void>();
  private nextReq = 1;
  private peers: Child[] = [];

  private constructor(
    readonly relay: Child,
    readonly url: string,
    private ws: WebSocket,
  ) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'open') this.opens.push({ peer: m.from, remote: m.remote, t: m.t });
      else if (m.type === 'ready') this.ready.set(m.from, m.t);
      else if (m.type === 'retry') this.retries++;
      else if (m.type === 'error') this.failures.push(`${m.from}: ${m.type} ${m.remote ?? m.message ?? ''}`);
      else if (m.type === 'result') {
        this.reqs.get(m.req)?.(m);
        this.reqs.delete(m.req);
      }
    });
  }

  static async start(): Promise<BareNet> {
    const { child, info } = await spawnReady<{ port: number }>('e2e/bench/bare/relay.ts');
    const url = `ws://127.0.0.1:${info.port}`;
    const ws = new WebSocket(`${url}/?id=ctl`);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    return new BareNet(child, url, ws);
  }

  /** Starts one bare node-datachannel peer in its own process. */
  spawnNodePeer(id: string): Child {
    const c = spawnTs('e2e/bench/bare/node-peer.ts', [this.url, id]);
    this.peers.push(c);
    return c;
  }

  /** Distinct remotes each peer has an open channel to. */
  openSets(): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const o of this.opens) {
      if (!m.has(o.peer)) m.set(o.peer, new Set());
      m.get(o.peer)!.add(o.remote);
    }
    return m;
  }

  /** Waits until every listed peer has an open channel to every other; returns the last open time. */
  async waitFullMesh(ids: string[], timeoutMs: number): Promise<number> {
    await waitFor(
      `bare full mesh of ${ids.length}`,
      () => {
        if (this.failures.length) throw new Error(`baseline link failed: ${this.failures.join('; ')}`);
        const sets = this.openSets();
        return ids.every((a) => ids.every((b) => a === b || sets.get(a)?.has(b)));
      },
      timeoutMs,
      5,
    );
    const inMesh = new Set(ids);
    return Math.max(...this.opens.filter((o) => inMesh.has(o.peer) && inMesh.has(o.remote)).map((o) => o.t));
  }

  /** Sends a command to a peer and resolves with its result. */
  request(peer: string, cmd: Record<string, unknown>, timeoutMs = 120000): Promise<any> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.reqs.delete(req);
        reject(new Error(`bare peer ${peer} did not answer ${cmd.type} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.reqs.set(req, (m) => {
        clearTimeout(t);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      });
      this.ws.send(JSON.stringify({ ...cmd, to: peer, req }));
    });
  }

  async stopPeers(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    this.peers = [];
    this.opens.length = 0;
    this.ready.clear();
    this.failures.length = 0;
    this.retries = 0;
  }

  async close(): Promise<void> {
    await this.stopPeers();
    this.ws.close();
    await this.relay.stop();
  }
}
