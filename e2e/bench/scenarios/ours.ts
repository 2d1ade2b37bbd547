/**
 * The product side of each scenario: real chatixia-sidecar processes against a real registry
 * (server/testing.ts `startRegistry()`), and our mesh core in Chromium. When a piece is missing
 * from the tree, the scenario prints "not measured (reason)" instead of a number.
 */
import { access } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { REPO, wallNow, findChildPid, waitFor, forkTs, type Forked } from '../lib/proc.ts';
import { LineClient } from '../lib/line-client.ts';
import { isTab, type Fleet, type Formation } from './fleet.ts';
import type { PairKind } from './bare-pairs.ts';
import type { RegistryProcess } from '../../../server/testing.ts';
import type { SidecarProcess } from '../../../sidecar-node/test-support.ts';
import type { Page } from 'playwright-core';
import { benchServer, openPage, closePage } from '../lib/chromium.ts';

const exists = (p: string) =>
  access(join(REPO, p)).then(
    () => true,
    () => false,
  );

/** Why "ours" cannot be measured, or null when the needed product pieces are in the tree. */
export async function oursMissing(what: 'sidecar' | 'registry' | 'mesh'): Promise<string | null> {
  const need: Record<typeof what, string[]> = {
    registry: ['server/testing.ts', 'server/main.ts'],
    sidecar: ['server/testing.ts', 'sidecar-node/main.ts', 'sidecar-node/test-support.ts'],
    mesh: ['server/testing.ts', 'mesh/index.ts'],
  };
  for (const p of need[what]) if (!(await exists(p))) return `${p} is not in the tree yet`;
  return null;
}

/** A fresh registry (its own process, temp data dir); quiet unless DEBUG_REGISTRY=1. */
export async function startOurRegistry(env: Record<string, string> = {}): Promise<RegistryProcess> {
  const { startRegistry } = await import('../../../server/testing.ts');
  return startRegistry({ env: { LOG_LEVEL: 'warn', ...env } });
}

// ─── sidecar fleet (formation) ─────────────────────────────────────────

const TS = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) /;

/** Reads a sidecar's log: when it registered, and which links are open (with the time each opened). */
function parseSidecarLog(text: string): { registered: number | null; open: Map<string, number>; failedAttempts: number } {
  let registered: number | null = null;
  const open = new Map<string, number>();
  let failedAttempts = 0;
  for (const line of text.split('\n')) {
    const ts = TS.exec(line);
    if (!ts) continue;
    const t = Date.parse(ts[1]!);
    let m: RegExpExecArray | null;
    if (line.includes('[signaling] registered as')) registered ??= t;
    else if ((m = /\[mesh\] peer connected: (\S+)/.exec(line))) open.set(m[1]!, t);
    else if ((m = /\[mesh\] peer disconnected: (\S+)/.exec(line))) open.delete(m[1]!);
    else if (line.includes('attempt failed')) failedAttempts++;
  }
  return { registered, open, failedAttempts };
}

export class SidecarFleet implements Fleet {
  label = 'chatixia-sidecar';
  private procs = new Map<string, SidecarProcess>();
  private tabs = new Map<string, { page: Page; h: number; registered: number }>();
  private constructor(readonly reg: RegistryProcess) {}

  static async start(): Promise<SidecarFleet> {
    return new SidecarFleet(await startOurRegistry());
  }

  async form(ids: string[], already: string[], timeoutMs: number): Promise<Formation> {
    const { startSidecarProcess } = await import('../../../sidecar-node/test-support.ts');
    const nodes = ids.filter((id) => !isTab(id)),
      tabs = ids.filter(isTab);
    // credentials before the clock starts
    const keys = await Promise.all(nodes.map((id) => this.reg.issueApiKey(id)));
    const tokens = await Promise.all(tabs.map((id) => this.reg.token(this.reg.adminKey, id)));
    const t0 = wallNow();
    // spawned together; test-support waits (concurrently) for each IPC socket; tabs load and join meanwhile
    const tabsJoined = Promise.all(
      tabs.map(async (id, i) => {
        const page = await openOursPage();
        const h = await oursCall(page, 'start', this.reg.wsUrl, this.reg.url, id, tokens[i]!, false, true);
        this.tabs.set(id, { page, h, registered: wallNow() });
      }),
    );
    const started = await Promise.all(
      nodes.map((id, i) =>
        startSidecarProcess(this.reg, id, {
          apiKey: keys[i]!,
          env: { HEARTBEAT_MS: '10000', LOG_LEVEL: 'info' },
        }),
      ),
    );
    started.forEach((p) => this.procs.set(p.peerId, p));
    await tabsJoined;
    const all = [...already, ...ids];
    let logs = new Map<string, { registered: number | null; open: Map<string, number>; failedAttempts: number }>();
    await waitFor(
      `sidecar full mesh of ${all.length}`,
      async () => {
        logs = new Map(all.filter((id) => !isTab(id)).map((id) => [id, parseSidecarLog(this.procs.get(id)!.output())]));
        for (const id of all.filter(isTab)) {
          const t = this.tabs.get(id)!;
          logs.set(id, { registered: t.registered, open: new Map(Object.entries(await oursCall(t.page, 'opens', t.h))), failedAttempts: 0 });
        }
        for (const [id, p] of this.procs) if (p.child.exitCode !== null) throw new Error(`sidecar ${id} exited:\n${p.output().slice(-1500)}`);
        return all.every((a) => all.every((b) => a === b || logs.get(a)!.open.has(b)));
      },
      timeoutMs,
      20,
    );
    const last = Math.max(...all.flatMap((a) => all.filter((b) => b !== a).map((b) => logs.get(a)!.open.get(b)!)));
    const regs = ids.map((id) => logs.get(id)!.registered);
    const lastReg = regs.every((r) => r !== null) ? Math.max(...(regs as number[])) : null;
    const retries = ids.reduce((s, id) => s + logs.get(id)!.failedAttempts, 0);
    return { total: last - t0, connect: lastReg === null ? null : last - lastReg, retries };
  }

  async stopAll() {
    await Promise.all([...this.tabs.values()].map((t) => closePage(t.page)));
    this.tabs.clear();
    await Promise.all([...this.procs.values()].map((p) => p.kill()));
    this.procs.clear();
  }
  async close() {
    await this.stopAll();
    await this.reg.stop();
  }
}

export async function startSidecarFleet(): Promise<Fleet> {
  return SidecarFleet.start();
}

// ─── two sidecars with one agent each (round trip node↔node, IPC hop) ────

export class SidecarPair {
  private constructor(
    readonly reg: RegistryProcess,
    readonly procs: SidecarProcess[],
    readonly agents: LineClient[],
  ) {}

  static async start(ids: string[]): Promise<SidecarPair> {
    const reg = await startOurRegistry();
    const { startSidecarProcess } = await import('../../../sidecar-node/test-support.ts');
    const procs = await Promise.all(ids.map((id) => startSidecarProcess(reg, id, { env: { HEARTBEAT_MS: '10000', LOG_LEVEL: 'warn' } })));
    const agents = await Promise.all(procs.map((p) => LineClient.connect(p.socket)));
    const pair = new SidecarPair(reg, procs, agents);
    if (ids.length > 1) {
      // every agent echoes task_requests back to the sender: the far end of the round trip
      for (const a of agents)
        a.onLine = (m) => {
          if (m.type === 'message' && m.payload?.message?.type === 'task_request') {
            a.send({
              type: 'send',
              payload: {
                target_peer: m.payload.from_peer,
                message: { type: 'task_response', request_id: m.payload.message.request_id, payload: { result: m.payload.message.payload?.args ?? null } },
              },
            });
          }
        };
      await waitFor(
        'sidecars linked',
        async () => {
          agents[0]!.send({ type: 'list_peers', payload: {} });
          const l = await agents[0]!.next((m) => m.type === 'peer_list');
          return ids.slice(1).every((id) => l.payload.peers.includes(id));
        },
        60000,
        100,
      );
    } else {
      await waitFor(
        'sidecar ready',
        async () => {
          agents[0]!.send({ type: 'list_peers', payload: {} });
          return (await agents[0]!.next((m) => m.type === 'peer_list' || m.type === 'error')).type === 'peer_list';
        },
        60000,
        100,
      );
    }
    return pair;
  }

  /** n sequential task_request → task_response round trips from agent 0 to agent 1 (whole stack). */
  async ping(n: number): Promise<number[]> {
    const a = this.agents[0]!,
      target = this.procs[1]!.peerId;
    const out: number[] = [];
    const pad = 'x'.repeat(16);
    for (let i = 0; i < n; i++) {
      const rid = `r${i}-${Math.random().toString(36).slice(2, 8)}`;
      const t = performance.now();
      a.send({
        type: 'send',
        payload: { target_peer: target, message: { type: 'task_request', request_id: rid, payload: { skill: 'echo', args: pad, timeout_ms: 5000 } } },
      });
      const reply = await a.next(
        (m) => (m.type === 'message' && m.payload?.message?.request_id === rid) || (m.type === 'error' && m.payload?.request_id === rid),
        5000,
      );
      if (reply.type === 'error') throw new Error(`round trip to ${target} failed: ${reply.payload.code}: ${reply.payload.message}`);
      out.push(performance.now() - t);
    }
    return out;
  }

  async close() {
    for (const a of this.agents) a.close();
    await Promise.all(this.procs.map((p) => p.kill()));
    await this.reg.stop();
  }
}

/** Our peers for round trip and throughput. */
export interface OursPairs extends KindPeers {
  /** node↔node Mesh.request round trips between two mesh cores, no IPC (to split the whole-stack cost) */
  meshPing(n: number): Promise<number[]>;
}

/** Two of our mesh cores in Node processes (no IPC socket): what `Mesh.send` / `Mesh.request` cost. */
export class MeshPeerPair {
  private constructor(
    readonly reg: RegistryProcess,
    readonly a: Forked,
    readonly b: Forked,
    private ownsRegistry: boolean,
  ) {}
  static async start(reg?: RegistryProcess): Promise<MeshPeerPair> {
    const r = reg ?? (await startOurRegistry());
    const keys = await Promise.all(['mp-a', 'mp-b'].map((id) => r.issueApiKey(id)));
    const [a, b] = await Promise.all(keys.map((k) => forkTs('e2e/bench/ours/mesh-peer.ts', { REGISTRY_URL: r.url, API_KEY: k })));
    await a!.call('connect', 'mp-b');
    return new MeshPeerPair(r, a!, b!, !reg);
  }
  ping(n: number) {
    return this.a.call<number[]>('ping', 'mp-b', n);
  }
  throughput(bytes: number, msgBytes: number) {
    return this.a.call<number>('throughput', 'mp-b', bytes, msgBytes);
  }
  async close() {
    await Promise.all([this.a.stop(), this.b.stop()]);
    if (this.ownsRegistry) await this.reg.stop();
  }
}

/** Payload per Mesh.send in the throughput scenario: 1 MiB messages, each chunked by the mesh. */
export const MESH_MSG_BYTES = 1024 * 1024;

export async function oursPairs(kinds: PairKind[]): Promise<{ ok: true; pairs: OursPairs } | { ok: false; reason: string }> {
  const missing = await oursMissing('sidecar');
  if (missing) return { ok: false, reason: missing };
  const isRtt = kinds.includes('browser-node'); // round trip: whole stack through sidecars; throughput: Mesh.send
  const sc = isRtt ? await SidecarPair.start(['rt-a', 'rt-b']) : null;
  const mp = await MeshPeerPair.start(sc?.reg);
  const browser = await oursBrowserPeers(mp.reg, kinds).catch((e) => ({
    ok: false as const,
    reason: `browser side failed to start: ${String(e).split('\n')[0]}`,
  }));
  const inBrowser = (k: PairKind) => k !== 'node-node';
  return {
    ok: true,
    pairs: {
      supports: (k) => (inBrowser(k) ? browser.ok && browser.peers.supports(k) : true),
      whyNot: (k) => (browser.ok ? browser.peers.whyNot(k) : browser.reason),
      describe: (k) =>
        inBrowser(k) && browser.ok
          ? browser.peers.describe(k)
          : isRtt
            ? 'agent → Unix socket → sidecar → mesh → DataChannel → sidecar → Unix socket → agent, and back (task_request/task_response)'
            : `Mesh.send of ${MESH_MSG_BYTES / 1024} KiB JSON messages (mesh chunking + bufferedAmount pacing), two Node processes`,
      ping: (k, n) => (inBrowser(k) ? (browser as { peers: BrowserPeers }).peers.ping(k, n) : sc!.ping(n)),
      throughput: (k, bytes) => (inBrowser(k) ? (browser as { peers: BrowserPeers }).peers.throughput(k, bytes) : mp.throughput(bytes, MESH_MSG_BYTES)),
      meshPing: (n) => mp.ping(n),
      close: async () => {
        if (browser.ok) await browser.peers.close();
        await mp.close();
        await sc?.close();
      },
    },
  };
}

// ─── IPC hop ────────────────────────────────────────────────────────────

export async function oursIpc(): Promise<
  { ok: true; client: LineClient; line: unknown; isReply: (m: any) => boolean; describe: string; close(): Promise<void> } | { ok: false; reason: string }
> {
  const missing = await oursMissing('sidecar');
  if (missing) return { ok: false, reason: missing };
  const sc = await SidecarPair.start(['ipc-a']);
  return {
    ok: true,
    client: sc.agents[0]!,
    line: { type: 'list_peers', payload: {} },
    isReply: (m) => m.type === 'peer_list',
    describe: 'list_peers → peer_list over the sidecar socket (validated with the IPC schema, routed by the AgentHub)',
    close: () => sc.close(),
  };
}

// ─── signaling load ─────────────────────────────────────────────────────

/** A signaling server under load: ours (registry) or the PeerJS server. */
export interface LoadTarget {
  label: string;
  kind: 'chatixia' | 'peerjs';
  url: string;
  pid: number;
  tokens(ids: string[]): Promise<string[] | undefined>;
  stop(): Promise<void>;
}

export async function oursRegistry(): Promise<{ ok: true; target: LoadTarget } | { ok: false; reason: string }> {
  const missing = await oursMissing('registry');
  if (missing) return { ok: false, reason: missing };
  // per-socket signaling limit stays at its default; the load is ~2 frames/s per simulated peer.
  // Tokens are signed here with the registry's own TokenSigner and a JWT_SECRET we hand it: minting
  // 5,000 through POST /api/token would take minutes and is not what this scenario measures.
  const secret = randomBytes(32).toString('base64url');
  const reg = await startOurRegistry({ JWT_SECRET: secret });
  const pid = await findChildPid('chatixia-registry');
  if (pid === null) {
    await reg.stop();
    return { ok: false, reason: 'registry process not found in /proc' };
  }
  const { TokenSigner } = await import('../../../server/auth/tokens.ts');
  const signer = new TokenSigner(new TextEncoder().encode(secret), 3600);
  return {
    ok: true,
    target: {
      label: 'registry',
      kind: 'chatixia',
      url: reg.wsUrl,
      pid,
      // the same claims POST /api/token gives an admin key that names a peer id
      tokens: (ids) => Promise.all(ids.map((peerId) => signer.sign({ peerId, role: 'admin' }))),
      stop: () => reg.stop(),
    },
  };
}

// ─── our mesh core in Chromium ──────────────────────────────────────────

/** Two tabs running our mesh core in the same Chromium. */
export interface OursBrowserPair {
  /** connect() → link open between two registered tabs, ms */
  connectTime(): Promise<number>;
  /** MB/s of `bytes` through Mesh.send */
  throughput(bytes: number): Promise<number>;
  close(): Promise<void>;
}

type OursApi = {
  opens(h: number): Record<string, number>;
  start(wsUrl: string, registryUrl: string, peerId: string, token: string, withHub: boolean, autoConnect: boolean): Promise<number>;
  connect(h: number, peer: string): Promise<number>;
  throughput(h: number, peer: string, bytes: number, msgBytes: number): Promise<number>;
  meshPing(h: number, peer: string, n: number): Promise<number[]>;
  workerPing(h: number, peer: string, n: number): Promise<number[]>;
  stop(h: number): void;
};
/** Calls `window.bench[k](...args)` in one of our pages. */
export const oursCall = <K extends keyof OursApi>(p: Page, k: K, ...args: Parameters<OursApi[K]>) =>
  p.evaluate(([k, args]) => ((globalThis as any).bench[k] as (...a: unknown[]) => unknown)(...(args as unknown[])), [k, args] as const) as Promise<
    Awaited<ReturnType<OursApi[K]>>
  >;

/** Opens one of our pages; its REST calls are proxied through here (see browser-page.ts). */
export async function openOursPage(): Promise<Page> {
  const srv = await benchServer();
  const page = await openPage(`${srv.url}/ours.html`);
  await page.exposeFunction('benchFetch', async (url: string, method: string, headers: Record<string, string>, body: string | null) => {
    if (!url.startsWith('http://127.0.0.1:')) throw new Error('loopback only');
    const r = await fetch(url, { method, headers, ...(body !== null ? { body } : {}) });
    const h: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      h[k] = v;
    });
    return { status: r.status, headers: h, body: await r.text() };
  });
  return page;
}

function oursPages(n: number): Promise<Page[]> {
  return Promise.all(Array.from({ length: n }, () => openOursPage()));
}

export async function oursBrowserPair(): Promise<{ ok: true; pair: OursBrowserPair } | { ok: false; reason: string }> {
  const missing = await oursMissing('mesh');
  if (missing) return { ok: false, reason: missing };
  const reg = await startOurRegistry();
  const [a, b] = (await oursPages(2)) as [Page, Page];
  let round = 0;
  const join = async (p: Page, id: string) => oursCall(p, 'start', reg.wsUrl, reg.url, id, await reg.token(reg.adminKey, id), false, false);
  // a long-lived pair for throughput
  const ha = await join(a, 'web-tp-a'),
    hb = await join(b, 'web-tp-b');
  await oursCall(a, 'connect', ha, 'web-tp-b');
  return {
    ok: true,
    pair: {
      async connectTime() {
        // fresh peers each time (both registered first), like PeerJS's connect() between two open Peers
        round++;
        const ia = `web-c${round}-a`,
          ib = `web-c${round}-b`;
        const [x, y] = await Promise.all([join(a, ia), join(b, ib)]);
        const ms = await oursCall(a, 'connect', x, ib);
        await oursCall(a, 'stop', x);
        await oursCall(b, 'stop', y);
        return ms;
      },
      throughput: (bytes) => oursCall(a, 'throughput', ha, 'web-tp-b', bytes, MESH_MSG_BYTES),
      async close() {
        await Promise.all([closePage(a), closePage(b)]);
        await reg.stop();
        void hb;
      },
    },
  };
}

/** Peers that run round trip and throughput for the pair kinds they support. */
export interface KindPeers {
  supports(kind: PairKind): boolean;
  whyNot(kind: PairKind): string;
  describe(kind: PairKind): string;
  ping(kind: PairKind, n: number): Promise<number[]>;
  throughput(kind: PairKind, bytes: number): Promise<number>;
  close(): Promise<void>;
}

/** Our tabs (mesh core + AgentHub + worker agent in Chromium) for the browser kinds of round trip and throughput. */
export type BrowserPeers = KindPeers;

export async function oursBrowserPeers(reg: RegistryProcess, kinds: PairKind[]): Promise<{ ok: true; peers: BrowserPeers } | { ok: false; reason: string }> {
  const missing = await oursMissing('mesh');
  if (missing) return { ok: false, reason: missing };
  const rtt = kinds.includes('browser-node');
  const [a, b] = (await oursPages(2)) as [Page, Page];
  const join = async (p: Page, id: string) => oursCall(p, 'start', reg.wsUrl, reg.url, id, await reg.token(reg.adminKey, id), rtt, true);
  const [ha, hb] = await Promise.all([join(a, 'web-a'), join(b, 'web-b')]);
  await oursCall(a, 'connect', ha, 'web-b');
  if (rtt) await oursCall(a, 'connect', ha, 'rt-b');
  const remote = (k: PairKind) => (k === 'browser-node' ? 'rt-b' : 'web-b');
  return {
    ok: true,
    peers: {
      supports: (k) => k !== 'node-node' && (rtt || k === 'browser-browser'),
      whyNot: () => 'not part of this scenario',
      describe: (k) =>
        rtt
          ? `worker agent → postMessage → AgentHub → mesh → DataChannel → ${k === 'browser-node' ? 'sidecar → Unix socket → agent' : 'mesh → AgentHub → worker agent'}, and back (task_request/task_response)`
          : `Mesh.send of ${MESH_MSG_BYTES / 1024} KiB JSON messages between two tabs (mesh chunking + bufferedAmount pacing)`,
      async ping(k, n) {
        await oursCall(a, 'connect', ha, remote(k)); // resolves at once while the link is open
        return oursCall(a, 'workerPing', ha, remote(k), n);
      },
      throughput: (k, bytes) => oursCall(a, 'throughput', ha, remote(k), bytes, MESH_MSG_BYTES),
      async close() {
        await Promise.all([closePage(a), closePage(b)]);
        void hb;
      },
    },
  };
}
