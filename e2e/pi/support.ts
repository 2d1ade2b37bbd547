/**
 * Test-only: ARM sidecars on this x86-64 machine. e2e/pi/setup.sh installs the emulation (qemu
 * user mode + binfmt_misc, ARM runtimes, npm's ARM Node binaries); installPacked() installs the
 * package the project publishes, built by scripts/build-sidecar.ts, the way a Pi owner does:
 * `npm install --cpu=<arch> --os=linux --libc=glibc --omit=dev chatixia-sidecar-<v>.tgz`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSidecarPackage } from '../../scripts/build-sidecar.ts';
import { tempDir } from '../../sidecar-node/test-support.ts';

const SETUP = fileURLToPath(new URL('./setup.sh', import.meta.url));

/** The ARM Node binaries, runnable as plain programs once binfmt_misc knows qemu. */
export interface ArmNodes {
  arm64: string;
  armv7l: string;
}

/** Runs setup.sh (idempotent; needs root and, the first time, apt and npm). */
export function setUpEmulation(): ArmNodes {
  const r = spawnSync('bash', [SETUP], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`e2e/pi/setup.sh failed (exit ${r.status}): it needs root, apt and the npm registry`);
  const get = (k: string) => new RegExp(`^${k}=(.+)$`, 'm').exec(r.stdout)?.[1];
  const arm64 = get('arm64'),
    armv7l = get('armv7l');
  if (!arm64 || !armv7l) throw new Error(`e2e/pi/setup.sh printed no Node paths:\n${r.stdout}`);
  return { arm64, armv7l };
}

let packed: Promise<string> | undefined;

/** Packs chatixia-sidecar (once per test process) and installs it for `cpu`; returns the bin path. */
export async function installPacked(cpu: 'x64' | 'arm64' | 'arm'): Promise<{ dir: string; bin: string }> {
  const tarball = await (packed ??= buildSidecarPackage({ pack: true }).then((r) => r.tarball!));
  const dir = tempDir(`chatixia-pi-${cpu}-`);
  writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `--cpu=${cpu}`, '--os=linux', '--libc=glibc', '--omit=dev', tarball], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { dir, bin: join(dir, 'node_modules', 'chatixia-sidecar', 'bin', 'chatixia-sidecar.mjs') };
}

/** The packages an install holds (scoped ones as @scope/name). */
export function installedPackages(dir: string): string[] {
  const nm = join(dir, 'node_modules');
  return readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]));
}

/**
 * A memory limit like a Pi Zero 2 W's (512 MB, no swap) for the processes started through
 * `prefix`: a cgroup of its own, v2 (memory.max) or v1 (memory.limit_in_bytes), whichever the
 * machine mounts. `peakBytes` and `oomKills` read what the kernel counted.
 */
export interface MemoryCage {
  /** Put before a command: the shell joins the cgroup, then execs the command (same pid). */
  prefix: string[];
  limitBytes: number;
  peakBytes(): number;
  oomKills(): number;
  remove(): void;
}

export function memoryCage(name: string, limitBytes = 512 * 1024 * 1024): MemoryCage {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = v2 ? `/sys/fs/cgroup/${name}` : `/sys/fs/cgroup/memory/${name}`;
  try {
    if (existsSync(dir)) rmdirSync(dir);
    mkdirSync(dir);
  } catch (err) {
    throw new Error(`cannot create the memory cgroup ${dir} (needs root and a writable cgroup file system): ${(err as Error).message}`);
  }
  const set = (file: string, v: number | string) => writeFileSync(join(dir, file), String(v));
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  if (v2) {
    set('memory.max', limitBytes);
    set('memory.swap.max', 0);
  } else {
    set('memory.limit_in_bytes', limitBytes);
    if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) set('memory.memsw.limit_in_bytes', limitBytes);
  }
  return {
    prefix: ['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" "$@"`],
    limitBytes,
    peakBytes: () => Number(v2 ? (existsSync(join(dir, 'memory.peak')) ? read('memory.peak') : read('memory.current')) : read('memory.max_usage_in_bytes')),
    oomKills: () => Number(/^oom_kill (\d+)/m.exec(read(v2 ? 'memory.events' : 'memory.oom_control'))?.[1] ?? 0),
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        /* still has a process: the kernel removes nothing, try later */
      }
    },
  };
}

/** Emulated steps take minutes: say what is being waited for (stderr, beside the test report). */
export function progress(what: string): void {
  process.stderr.write(`# pi ${new Date().toISOString().slice(11, 19)} ${what}\n`);
}
