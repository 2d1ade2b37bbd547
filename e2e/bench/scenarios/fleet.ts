/**
 * A fleet is N peers, one process each, that form a full mesh. The bare fleet is the baseline;
 * the sidecar fleet (ours.ts) runs real chatixia-sidecar processes against a real registry.
 */
import type { Page } from 'playwright-core';
import { BareNet } from '../lib/controller.ts';
import { wallNow } from '../lib/proc.ts';
import { benchServer, openPage, closePage } from '../lib/chromium.ts';

/** Peer ids ending in "-tab<k>" are browser tabs; the others are Node processes. */
export const isTab = (id: string) => /-tab\d+$/.test(id);

export interface Formation {
  /** spawn of the first process → every peer has an open channel to every other (ms) */
  total: number;
  /** the last peer registered with signaling → full mesh (ms): the connect phase without process start-up */
  connect: number | null;
  retries: number;
}

export interface Fleet {
  label: string;
  /** Spawns `ids` (one process each) and waits for the full mesh among `ids` plus `already`. */
  form(ids: string[], already: string[], timeoutMs: number): Promise<Formation & { joinerConnect?: number | null }>;
  stopAll(): Promise<void>;
  close(): Promise<void>;
}

export class BareFleet implements Fleet {
  label = 'bare node-datachannel';
  private constructor(private net: BareNet) {}
  static async start(): Promise<BareFleet> {
    return new BareFleet(await BareNet.start());
  }

  private pages: Page[] = [];

  async form(ids: string[], already: string[], timeoutMs: number) {
    const srv = ids.some(isTab) ? await benchServer() : null;
    const t0 = wallNow();
    const retries0 = this.net.retries;
    const tabs = Promise.all(
      ids.filter(isTab).map(async (id) => {
        this.pages.push(await openPage(`${srv!.url}/bare.html?relay=${encodeURIComponent(this.net.url)}&id=${id}`));
      }),
    );
    for (const id of ids) if (!isTab(id)) this.net.spawnNodePeer(id);
    await tabs;
    const all = [...already, ...ids];
    const last = await this.net.waitFullMesh(all, timeoutMs);
    const readies = ids.map((i) => this.net.ready.get(i));
    const lastReady = readies.every((r) => r !== undefined) ? Math.max(...(readies as number[])) : null;
    return { total: last - t0, connect: lastReady === null ? null : last - lastReady, retries: this.net.retries - retries0 };
  }

  async stopAll() {
    await Promise.all(this.pages.map(closePage));
    this.pages = [];
    await this.net.stopPeers();
  }
  async close() {
    await this.net.close();
  }
}
