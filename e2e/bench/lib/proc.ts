/** Child processes for the bench: spawned with tsx, tracked so every one is stopped at the end. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const children = new Set<ChildProcess>();

export interface Child {
  proc: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `node --import tsx <script> args…`; stdout/stderr are kept (last 64 KiB) for error reports. */
export function spawnTs(
  script: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; stdin?: boolean; nodeArgs?: string[] } = {},
): Child {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
    cwd: REPO,
    env: { ...process.env, ...opts.env },
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  return track(proc, opts.onLine);
}

export function track(proc: ChildProcess, onLine?: (line: string) => void): Child {
  children.add(proc);
  let out = '';
  let partial = '';
  const keep = (s: string) => {
    out = (out + s).slice(-65536);
  };
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
    keep(s);
    if (!onLine) return;
    partial += s;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  proc.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((r) =>
    proc.once('exit', () => {
      children.delete(proc);
      r();
    }),
  );
  return {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Spawns a script that prints one JSON line with `ready: true` and resolves with that object. */
export function spawnReady<T = Record<string, unknown>>(script: string, args: string[] = [], timeoutMs = 20000): Promise<{ child: Child; info: T }> {
  return new Promise((resolveP, reject) => {
    let done = false;
    const child = spawnTs(script, args, {
      onLine: (l) => {
        if (done) return;
        try {
          const j = JSON.parse(l);
          if (j?.ready) {
            done = true;
            clearTimeout(t);
            resolveP({ child, info: j as T });
          }
        } catch {
          /* not JSON: a log line */
        }
      },
    });
    const t = setTimeout(() => {
      done = true;
      void child.stop();
      reject(new Error(`${script} not ready in ${timeoutMs} ms:\n${child.output()}`));
    }, timeoutMs);
    child.proc.once('exit', (code) => {
      if (!done) {
        done = true;
        clearTimeout(t);
        reject(new Error(`${script} exited ${code}:\n${child.output()}`));
      }
    });
  });
}

/** Kills every child still running (used on exit and on Ctrl-C). */
export function killAll(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Resident memory of a process in bytes, from /proc. */
export async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m ? Number(m[1]) * 1024 : NaN;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, everyMs = 10): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const wallNow = () => performance.timeOrigin + performance.now();

/** Pid of a direct child of this process whose command line contains `needle` (newest first). */
export async function findChildPid(needle: string): Promise<number | null> {
  const { readdir, readFile } = await import('node:fs/promises');
  const found: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = (await readFile(`/proc/${d}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return found.length ? Math.max(...found) : null;
}

/** A forked TypeScript child with an IPC channel: `call(cmd, …args)` ↔ `{id, ok, value|error}`. */
export interface Forked {
  pid: number;
  info: Record<string, unknown>;
  call<T = unknown>(cmd: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function forkTs(script: string, env: NodeJS.ProcessEnv, readyTimeoutMs = 30000): Promise<Forked> {
  const { fork } = await import('node:child_process');
  const proc = fork(script, [], {
    cwd: REPO,
    env: { ...process.env, ...env },
    execArgv: [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const child = track(proc);
  let next = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} not ready in ${readyTimeoutMs} ms:\n${child.output().slice(-1500)}`)), readyTimeoutMs);
    proc.on('message', (m: any) => {
      if (m?.ready) {
        clearTimeout(t);
        resolve(m);
        return;
      }
      const p = pending.get(m?.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${script} exited ${code}:\n${child.output().slice(-1500)}`));
      for (const p of pending.values()) p.reject(new Error(`${script} exited ${code}`));
    });
  });
  return {
    pid: child.pid,
    info,
    call: (cmd, ...args) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        proc.send({ id, cmd, args });
      }),
    stop: () => child.stop(),
  };
}
