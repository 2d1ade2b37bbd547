// A small lab of network namespaces for fault tests: N "hosts" on one bridge that lives in a
// "hub" namespace. Links can be cut (veth down) and traffic between two hosts dropped silently
// at the bridge (nftables, bridge family), so peers see a real partition, not a local error.
// Nothing here touches the root namespace's network: all traffic stays inside the lab.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** Every lab namespace is named `cxf-<owner pid>-<role>` so stale ones can be found and removed. */
const PREFIX = 'cxf-';
const SUBNET = '10.77.0';
export const HUB_IP = `${SUBNET}.1`;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function nft(ns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Kills every process still inside `ns`, then deletes it. Never throws. */
function removeNamespace(ns: string): void {
  try {
    for (const pid of ip(['netns', 'pids', ns])
      .split('\n')
      .map(Number)
      .filter((p) => p > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } catch {
    /* namespace already half-gone */
  }
  try {
    ip(['netns', 'del', ns]);
  } catch {
    /* already gone */
  }
}

/** Removes namespaces left behind by lab owners that are no longer running (a crashed run). */
export function cleanupStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    if (!ns.startsWith(PREFIX)) continue;
    const owner = Number(ns.slice(PREFIX.length).split('-')[0]);
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      removeNamespace(ns);
      removed.push(ns);
    }
  }
  return removed;
}

export interface LabHost {
  /** 1-based index. */
  index: number;
  name: string;
  ns: string;
  ip: string;
  /** the hub-side veth of this host (a bridge port) */
  port: string;
}

export interface LabProcess {
  child: ChildProcess;
  /** stdout+stderr, kept for failure reports */
  output: () => string;
  /** resolves with the exit code/signal once the process is gone */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let seq = 0;

export class Lab {
  readonly hub: string;
  readonly hosts: LabHost[] = [];
  private readonly procs = new Set<ChildProcess>();
  private destroyed = false;
  private readonly onExit = () => this.destroySync();

  private constructor(readonly id: string) {
    this.hub = `${PREFIX}${id}-hub`;
  }

  /** Creates the hub (bridge at HUB_IP) and `hostCount` hosts at 10.77.0.11, .12, … */
  static create(hostCount: number): Lab {
    cleanupStaleLabs();
    const lab = new Lab(`${process.pid}-${++seq}`);
    process.once('exit', lab.onExit);
    try {
      ip(['netns', 'add', lab.hub]);
      ip(['-n', lab.hub, 'link', 'set', 'lo', 'up']);
      ip(['-n', lab.hub, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', lab.hub, 'addr', 'add', `${HUB_IP}/24`, 'dev', 'br0']);
      ip(['-n', lab.hub, 'link', 'set', 'br0', 'up']);
      // Silent drops between hosts: the sets below are filled by block*/partition.
      nft(
        lab.hub,
        `table bridge cxf {
  set udp_pairs { type ipv4_addr . ipv4_addr; }
  set all_pairs { type ipv4_addr . ipv4_addr; }
  chain pass {
    type filter hook forward priority 0;
    ip saddr . ip daddr @all_pairs drop
    meta l4proto udp ip saddr . ip daddr @udp_pairs drop
  }
}`,
      );
      for (let i = 1; i <= hostCount; i++) lab.addHost();
      return lab;
    } catch (e) {
      lab.destroySync();
      throw e;
    }
  }

  addHost(): LabHost {
    const index = this.hosts.length + 1;
    const name = `h${index}`;
    const host: LabHost = { index, name, ns: `${PREFIX}${this.id}-${name}`, ip: `${SUBNET}.${10 + index}`, port: `p${index}` };
    ip(['netns', 'add', host.ns]);
    ip(['link', 'add', 'eth0', 'netns', host.ns, 'type', 'veth', 'peer', 'name', host.port, 'netns', this.hub]);
    ip(['-n', host.ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
    ip(['-n', host.ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', this.hub, 'link', 'set', host.port, 'master', 'br0']);
    ip(['-n', this.hub, 'link', 'set', host.port, 'up']);
    this.hosts.push(host);
    return host;
  }

  host(i: number): LabHost {
    const h = this.hosts[i - 1];
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  /** Runs a command inside `ns` (a host's or the hub's namespace); killed by destroy(). */
  spawn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): LabProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.procs.add(child);
    let out = '';
    const keep = (b: Buffer) => {
      out += b.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => {
        this.procs.delete(child);
        resolve({ code, signal });
      });
    });
    return { child, output: () => out, exited };
  }

  /** Takes a host's link down at the bridge: the host keeps its address but nothing gets through. */
  cutHost(h: LabHost): void {
    ip(['-n', this.hub, 'link', 'set', h.port, 'down']);
  }
  restoreHost(h: LabHost): void {
    ip(['-n', this.hub, 'link', 'set', h.port, 'up']);
    // Forget neighbours that went FAILED while cut, else the first connects fail with EHOSTUNREACH.
    this.flushNeighbours();
  }

  private flushNeighbours(): void {
    for (const ns of [this.hub, ...this.hosts.map((x) => x.ns)]) {
      try {
        ip(['-n', ns, 'neigh', 'flush', 'all']);
      } catch {
        /* nothing to flush */
      }
    }
  }

  /** Silently drops all traffic between two hosts (both directions); the registry stays reachable. */
  partition(a: LabHost, b: LabHost): void {
    this.setPairs('add', 'all_pairs', a, b);
  }
  heal(a: LabHost, b: LabHost): void {
    this.setPairs('delete', 'all_pairs', a, b);
  }

  /** Silently drops UDP between two hosts (both directions); TCP (signaling, REST) still works. */
  blockUdp(a: LabHost, b: LabHost): void {
    this.setPairs('add', 'udp_pairs', a, b);
  }
  unblockUdp(a: LabHost, b: LabHost): void {
    this.setPairs('delete', 'udp_pairs', a, b);
  }

  private setPairs(op: 'add' | 'delete', set: string, a: LabHost, b: LabHost): void {
    nft(this.hub, `${op} element bridge cxf ${set} { ${a.ip} . ${b.ip}, ${b.ip} . ${a.ip} }\n`);
  }

  /** Kills every process started in the lab and deletes its namespaces. Safe to call twice. */
  async destroy(): Promise<void> {
    const waits = [...this.procs].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          try {
            c.kill('SIGKILL');
          } catch {
            resolve();
          }
        }),
    );
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 3000))]);
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    for (const c of this.procs) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const h of this.hosts) removeNamespace(h.ns);
    removeNamespace(this.hub);
  }
}
