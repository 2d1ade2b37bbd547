// A fault-test world: a namespace lab with N hosts, the real registry (server/testing.ts) made
// reachable inside the lab at the hub address, a real coturn in the hub, and real
// `chatixia-sidecar` processes started inside hosts. close() tears all of it down.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { Lab, HUB_IP, type LabHost, type LabProcess } from './netns.ts';
import { bridgeIntoNamespace, type NsBridge } from './ns-bridge.ts';
import { startCoturn, type Coturn } from './coturn.ts';
import { IpcProbe } from './ipc-probe.ts';
import { PROBE_TYPE } from './ledger.ts';
import { buildTabPage, launchTabBrowser, TabProbe, type TabBrowser } from './tab.ts';

const SIDECAR_BIN = fileURLToPath(new URL('../../bin/chatixia-sidecar.mjs', import.meta.url));

export interface WorldOptions {
  hosts: number;
  /** extra registry environment (TASK_TTL_S, …) */
  registryEnv?: Record<string, string>;
  /** hand out TURN credentials from /api/config (coturn always runs; this decides if peers learn of it) */
  turn?: boolean;
  /** serve the browser peers' page (startTab) */
  tabs?: boolean;
}

export interface Tab {
  peerId: string;
  apiKey: string;
  host: LabHost;
  probe: TabProbe;
  /** memory of the tab's whole browser in MiB (proportional set size of all its processes) */
  memMb(): number | undefined;
}

export interface Sidecar {
  peerId: string;
  apiKey: string;
  host: LabHost;
  socketPath: string;
  proc: LabProcess;
  /** resident memory of the sidecar process in MiB (undefined once it exited) */
  rssMb(): number | undefined;
  /** connects a new test agent to its IPC socket */
  probe(opts?: { keepEvents?: boolean }): Promise<IpcProbe>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function rssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

export class FaultWorld {
  readonly sidecars: Sidecar[] = [];
  readonly tabs: Tab[] = [];
  private probes: IpcProbe[] = [];
  private browsers: TabBrowser[] = [];

  private constructor(
    readonly lab: Lab,
    readonly registry: RegistryProcess,
    readonly bridge: NsBridge,
    readonly turn: Coturn,
    readonly dir: string,
  ) {}

  /** Registry base URL as seen from inside the lab. */
  get labUrl(): string {
    return `http://${HUB_IP}:${this.registry.port}`;
  }
  get labWsUrl(): string {
    return `ws://${HUB_IP}:${this.registry.port}/ws`;
  }

  static async start(opts: WorldOptions): Promise<FaultWorld> {
    const lab = Lab.create(opts.hosts);
    let turn: Coturn | undefined;
    let registry: RegistryProcess | undefined;
    let bridge: NsBridge | undefined;
    try {
      const dir = await mkdtemp(join(tmpdir(), 'cxf-world-'));
      if (opts.tabs) await buildTabPage(join(dir, 'tab-page'));
      turn = await startCoturn({ lab });
      registry = await startRegistry({
        env: {
          // peers inside the lab reach only the hub: STUN on coturn, no public STUN
          STUN_URLS: `stun:${turn.ip}:${turn.port}`,
          ...(opts.turn ? { TURN_URL: turn.url, TURN_SECRET: turn.secret } : {}),
          ...(opts.tabs ? { WEB_DIST_DIR: join(dir, 'tab-page') } : {}),
          ...opts.registryEnv,
        },
      });
      bridge = await bridgeIntoNamespace(lab.hub, HUB_IP, registry.port, registry.port);
      return new FaultWorld(lab, registry, bridge, turn, dir);
    } catch (e) {
      await bridge?.close();
      await registry?.stop().catch(() => {});
      await turn?.stop();
      await lab.destroy();
      throw e;
    }
  }

  /** Starts `chatixia-sidecar` inside host `hostIndex` with its own API key; resolves once its IPC socket answers. */
  async startSidecar(hostIndex: number, opts: { peerId?: string; apiKey?: string; env?: Record<string, string> } = {}): Promise<Sidecar> {
    const host = this.lab.host(hostIndex);
    const peerId = opts.peerId ?? `side-${host.name}-${this.sidecars.length + 1}`;
    const apiKey = opts.apiKey ?? (await this.registry.issueApiKey(peerId));
    const socketPath = join(this.dir, `${peerId}.sock`);
    const proc = this.lab.spawn(host.ns, process.execPath, [SIDECAR_BIN], {
      env: {
        ...process.env,
        SIGNALING_URL: this.labWsUrl,
        TOKEN_URL: `${this.labUrl}/api/token`,
        API_KEY: apiKey,
        IPC_SOCKET: socketPath,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const world = this;
    const sc: Sidecar = {
      peerId,
      apiKey,
      host,
      socketPath,
      proc,
      rssMb: () => rssMb(proc.child.exitCode === null ? proc.child.pid : undefined),
      async probe(o = {}) {
        const p = await IpcProbe.connect(socketPath, { timeoutMs: 10_000, ...o });
        world.probes.push(p);
        return p;
      },
      async kill(signal = 'SIGKILL') {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
        proc.child.kill(signal);
        await proc.exited;
      },
    };
    this.sidecars.push(sc);
    return sc;
  }

  /**
   * Starts a browser peer inside host `hostIndex`: its own Chromium, the tab page from the
   * registry at the hub address, one worker agent; resolves once it is on signaling.
   */
  async startTab(hostIndex: number, opts: { peerId?: string } = {}): Promise<Tab> {
    const host = this.lab.host(hostIndex);
    const peerId = opts.peerId ?? `tab-${host.name}-${this.tabs.length + 1}`;
    const apiKey = await this.registry.issueApiKey(peerId);
    const b = await launchTabBrowser(this.dir, host, `http://${HUB_IP}:${this.registry.port}`);
    this.browsers.push(b);
    const probe = await TabProbe.open(b.browser, `${this.labUrl}/`, peerId, apiKey, PROBE_TYPE);
    const tab: Tab = { peerId, apiKey, host, probe, memMb: b.memMb };
    this.tabs.push(tab);
    return tab;
  }

  /** Everything the world's processes printed, for a failing test's diagnostics. */
  logs(): string {
    return [
      ...this.sidecars.map((s) => `--- sidecar ${s.peerId} ---\n${s.proc.output().slice(-4000)}`),
      ...this.tabs.map((t) => `--- tab ${t.peerId} ---\n${t.probe.problems.slice(-20).join('\n')}`),
    ].join('\n');
  }

  async close(): Promise<void> {
    for (const p of this.probes) p.close();
    await Promise.all(this.tabs.map((t) => t.probe.close()));
    await Promise.all(this.browsers.map((b) => b.browser.close().catch(() => {})));
    await Promise.all(this.sidecars.map((s) => s.kill('SIGKILL')));
    await this.bridge.close();
    await this.registry.stop().catch(() => {});
    await this.turn.stop();
    await this.lab.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The sidecar's open links, as it answers `list_peers`. */
export async function openLinks(probe: IpcProbe): Promise<string[]> {
  const seen = probe.events.length;
  probe.command('list_peers', {});
  await probe.waitFor(() => probe.events.slice(seen).some((e) => e.type === 'peer_list'), 5000, 'peer_list');
  const answer = probe.events.slice(seen).find((e) => e.type === 'peer_list');
  return answer?.type === 'peer_list' ? answer.payload.peers : [];
}

/** Asks the sidecar for its open links until `peers` are all among them. */
export async function waitLinked(probe: IpcProbe, peers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await openLinks(probe);
    if (peers.every((p) => open.includes(p))) return;
    if (Date.now() > deadline) throw new Error(`links to ${peers.join(', ')} not open after ${timeoutMs} ms (open: ${open.join(', ') || 'none'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The paths (direct, relay…) the tabs report for their links, once every named peer's path is known:
 * a link can be open a moment before its selected ICE pair shows in the stats ('unknown').
 */
export async function knownPaths(tabs: Tab[], peers: string[], timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const paths: Record<string, string> = Object.assign({}, ...(await Promise.all(tabs.map((t) => t.probe.paths()))));
    if (peers.every((p) => paths[p] && paths[p] !== 'unknown') || Date.now() > deadline) return paths;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs a test body; on failure the sidecars' output is attached to the error. */
export async function explained(world: FaultWorld | undefined, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (world && e instanceof Error) {
      const turn = (await world.turn.log().catch(() => ''))
        .split('\n')
        .filter((l) => /session|ERROR|error/.test(l))
        .slice(-15)
        .join('\n');
      e.message += `\n${world.logs()}\n--- coturn (last session lines) ---\n${turn}`;
    }
    throw e;
  }
}
