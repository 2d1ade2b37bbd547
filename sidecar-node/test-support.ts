/** Test-only helpers: real sidecar processes against a real registry. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as netConnect } from 'node:net';
import type { RegistryProcess } from '../server/testing.ts';
import { connectAgent } from './agent-socket.ts';
import type { AgentClient, AgentOptions } from '../mesh/agent/client.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SIDECAR_BIN = join(ROOT, 'bin', 'chatixia-sidecar.mjs');

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;
function hook() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

export function tempDir(prefix = 'chatixia-sc-'): string {
  hook();
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export interface SidecarProcess {
  peerId: string;
  socket: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  /** Starts the same sidecar again (same peer id, key and socket). */
  restart(): Promise<SidecarProcess>;
  agent(opts?: AgentOptions): Promise<AgentClient>;
}

export async function startSidecarProcess(
  reg: RegistryProcess,
  peerId: string,
  opts: {
    env?: Record<string, string>;
    apiKey?: string;
    socket?: string;
    args?: string[];
    /** Another Node and sidecar entry point (an ARM Node under emulation running the packed package). */
    node?: string;
    bin?: string;
    /** Command words before node (e.g. a shell that joins a cgroup and execs). */
    prefix?: string[];
    /** How long the IPC socket may take to appear (default 20 s; emulation needs more). */
    startTimeoutMs?: number;
  } = {},
): Promise<SidecarProcess> {
  hook();
  const apiKey = opts.apiKey ?? (await reg.issueApiKey(peerId));
  const socket = opts.socket ?? join(tempDir(), 'sidecar.sock');
  let buf = '';
  const [cmd, ...argv] = [...(opts.prefix ?? []), opts.node ?? process.execPath, opts.bin ?? SIDECAR_BIN, ...(opts.args ?? [])];
  const child = spawn(cmd!, argv, {
    cwd: ROOT,
    env: {
      ...process.env,
      REGISTRY_URL: reg.url,
      API_KEY: apiKey,
      IPC_SOCKET: socket,
      HEARTBEAT_MS: '500',
      LOG_LEVEL: process.env.DEBUG_SIDECAR ? 'debug' : 'info',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const onData = (d: Buffer) => {
    buf += d.toString();
    if (buf.length > 1_000_000) buf = buf.slice(-500_000);
    if (process.env.DEBUG_SIDECAR) process.stderr.write(`[${peerId}] ${d}`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`sidecar ${peerId} exited (${child.exitCode}):\n${buf}`);
    if (Date.now() > deadline) throw new Error(`sidecar ${peerId} did not create its socket:\n${buf}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const waitExit = (ms: number) =>
    new Promise<boolean>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r(true);
      const t = setTimeout(() => r(false), ms);
      child.once('exit', () => {
        clearTimeout(t);
        r(true);
      });
    });
  const sp: SidecarProcess = {
    peerId,
    socket,
    child,
    output: () => buf,
    async stop() {
      child.kill('SIGTERM');
      if (!(await waitExit(10_000))) child.kill('SIGKILL');
      await waitExit(5000);
      return child.exitCode;
    },
    async kill() {
      child.kill('SIGKILL');
      await waitExit(5000);
    },
    // A killed sidecar leaves its socket file behind: remove it, or the wait below would see it at once.
    restart: () => {
      if (child.exitCode !== null || child.signalCode !== null) rmSync(socket, { force: true });
      return startSidecarProcess(reg, peerId, { ...opts, apiKey, socket });
    },
    agent: (o = {}) => connectAgent({ ...o, socketPath: socket }),
  };
  return sp;
}

export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** A raw socket client reading JSON lines. */
export async function rawClient(path: string) {
  const sock = netConnect(path);
  await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j));
  const lines: { type: string; payload: Record<string, unknown> }[] = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  return { sock, lines, write: (s: string) => new Promise<void>((r) => sock.write(s, () => r())) };
}
