/** The baseline peers for round trip and throughput: two node processes and two Chromium pages on one relay. */
import type { Page } from 'playwright-core';
import { BareNet } from '../lib/controller.ts';
import { benchServer, openPage, closePage } from '../lib/chromium.ts';

export type PairKind = 'node-node' | 'browser-node' | 'browser-browser';
/** Which bare peers stand for each kind of pair (the first one pings / sends). */
export const PAIRS: Record<PairKind, [string, string]> = {
  'node-node': ['n0', 'n1'],
  'browser-node': ['b0', 'n0'],
  'browser-browser': ['b0', 'b1'],
};

export class BarePairs {
  private constructor(
    readonly net: BareNet,
    private pages: Page[],
  ) {}

  static async start(kinds: PairKind[]): Promise<BarePairs> {
    const net = await BareNet.start();
    const ids = [...new Set(kinds.flatMap((k) => PAIRS[k]))];
    const pages: Page[] = [];
    for (const id of ids) {
      if (id.startsWith('n')) net.spawnNodePeer(id);
      else pages.push(await openPage(`${(await benchServer()).url}/bare.html?relay=${encodeURIComponent(net.url)}&id=${id}`));
    }
    await net.waitFullMesh(ids, 60000);
    return new BarePairs(net, pages);
  }

  /** n sequential pings of `size` bytes from a to b over the bare channel; RTTs in ms. */
  async ping(kind: PairKind, n: number, size = 64): Promise<number[]> {
    const [a, b] = PAIRS[kind];
    return (await this.net.request(a, { type: 'ping', target: b, n, size })).rtts;
  }

  /** Sends `bytes` in `chunk`-sized messages with bufferedAmount back-pressure; MB/s (10^6 bytes/s). */
  async throughput(kind: PairKind, bytes: number, chunk: number): Promise<number> {
    const [a, b] = PAIRS[kind];
    const r = await this.net.request(a, { type: 'throughput', target: b, bytes, chunk });
    return r.bytes / 1e6 / (r.ms / 1000);
  }

  async close(): Promise<void> {
    await Promise.all(this.pages.map(closePage));
    await this.net.close();
  }
}
