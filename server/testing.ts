/**
 * Test harness: runs the REAL registry (bin/chatixia-registry.mjs) as a child
 * process on a free port and a temp data dir, and waits for /healthz. Output is kept in memory
 * and printed only when the test process ends with a failure, or live with DEBUG_REGISTRY=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RegistryProcess {
  /** http://127.0.0.1:PORT (https:// when env TLS_CERT is given; token()/issueApiKey() then need NODE_EXTRA_CA_CERTS or similar) */
  url: string;
  /** ws://127.0.0.1:PORT/ws */
  wsUrl: string;
  port: number;
  dataDir: string;
  adminKey: string;
  /** Everything the registry printed so far. */
  output(): string;
  /** SIGTERM, waits for exit. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit. */
  kill(): Promise<void>;
  /** stop + start on the same port and data dir. */
  restart(): Promise<void>;
  issueApiKey(peerId: string, role?: 'agent' | 'admin'): Promise<string>;
  token(apiKey: string, peerId?: string): Promise<string>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  /** How long to wait for /healthz (default 60 s: PGlite's first open is slow on a busy machine). */
  timeoutMs?: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'chatixia-registry.mjs');

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const outputs: { port: number; text: () => string }[] = [];
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', (code) => {
    for (const child of live) child.kill('SIGKILL');
    if ((code !== 0 || process.exitCode) && !process.env.DEBUG_REGISTRY) {
      for (const o of outputs) process.stderr.write(`\n----- registry :${o.port} output -----\n${o.text()}\n`);
    }
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/**
 * PGlite's first open of a data dir (initdb) takes 5-30 s on a busy machine; a copy of an
 * initialized, closed one opens in under a second. The template is built once per machine
 * (keyed by schema and PGlite version) in the temp dir and copied into each new data dir.
 */
async function pgliteTemplate(): Promise<string> {
  const { SCHEMA_SQL } = await import('./storage/schema.ts');
  const pgliteVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')).version as string;
  const key = createHash('sha256')
    .update(SCHEMA_SQL + pgliteVersion)
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), `chatixia-pglite-template-${key}`);
  if (existsSync(join(dir, '.ready'))) return dir;
  const build = mkdtempSync(join(tmpdir(), 'chatixia-pglite-build-'));
  const { openDb } = await import('./storage/db.ts');
  const db = await openDb({ dataDir: build });
  await db.close();
  writeFileSync(join(build, 'pgdata', '.ready'), '');
  try {
    renameSync(join(build, 'pgdata'), dir); // atomic; another process may have won the race
  } catch {
    /* the other copy is as good */
  }
  rmSync(build, { recursive: true, force: true });
  return dir;
}

/** /healthz over HTTPS with a self-signed test certificate (fetch would refuse it). */
function httpsProbe(port: number): Promise<boolean> {
  return new Promise((res) => {
    const req = httpsGet({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startRegistry(opts: StartOptions = {}): Promise<RegistryProcess> {
  hookExit();
  const tls = Boolean(opts.env?.TLS_CERT || opts.env?.TLS_SELF_SIGNED === '1');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'chatixia-reg-'));
  if (!opts.dataDir) tempDirs.add(dataDir);
  if (!opts.env?.DATABASE_URL && !existsSync(join(dataDir, 'pgdata'))) {
    try {
      cpSync(await pgliteTemplate(), join(dataDir, 'pgdata'), { recursive: true });
    } catch {
      /* no template: the registry initializes the store itself, only slower */
    }
  }
  let buf = '';
  let port = Number(opts.env?.PORT) || (await freePort());
  outputs.push({ port, text: () => buf });
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      MESH_DATA_DIR: dataDir,
      MESH_BUILD_WEB: '0',
      // Tests ask for many tokens and tasks from one address; the rate-limit tests lower these.
      RATE_TOKEN_PER_MIN: '100000',
      RATE_TASK_PER_MIN: '100000',
      RATE_PAIRING_STATUS_PER_MIN: '100000',
      ...opts.env,
      PORT: String(port),
    };
    const c = spawn(process.execPath, [BIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    const onData = (d: Buffer) => {
      const s = d.toString();
      buf += s;
      if (buf.length > 2_000_000) buf = buf.slice(-1_000_000);
      if (process.env.DEBUG_REGISTRY) process.stderr.write(`[registry:${port}] ${s}`);
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    c.once('exit', () => live.delete(c));
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`registry exited (${c.exitCode ?? c.signalCode}) before /healthz answered:\n${buf}`);
      try {
        if (tls ? await httpsProbe(port) : (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    throw new Error(`registry did not answer /healthz within ${opts.timeoutMs ?? 60_000} ms:\n${buf}`);
  };

  // The port was free when picked; another process may take it before the child binds. Retry then.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt < 3 && !opts.env?.PORT && /EADDRINUSE|cannot listen/.test(String(e))) {
        port = await freePort();
        outputs[outputs.length - 1] = { port, text: () => buf };
        continue;
      }
      throw e;
    }
  }

  const adminKey = opts.env?.ADMIN_API_KEY ?? readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  const stop = async () => {
    const c = child;
    if (!c) return;
    c.kill('SIGTERM');
    if (!(await waitExit(c, 10_000))) {
      c.kill('SIGKILL');
      await waitExit(c, 5000);
    }
  };
  const kill = async () => {
    const c = child;
    if (!c) return;
    c.kill('SIGKILL');
    await waitExit(c, 5000);
  };

  const rp: RegistryProcess = {
    url,
    wsUrl: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`,
    port,
    dataDir,
    adminKey,
    output: () => buf,
    stop,
    kill,
    restart: async () => {
      await stop();
      await launch();
    },
    async token(apiKey: string, peerId?: string) {
      const res = await fetch(`${url}/api/token`, {
        method: 'POST',
        headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
        body: JSON.stringify(peerId ? { peer_id: peerId } : {}),
      });
      const body = (await res.json()) as { token?: string; error?: { message: string } };
      if (!res.ok || !body.token) throw new Error(`POST /api/token: ${res.status} ${body.error?.message ?? ''}`);
      return body.token;
    },
    async issueApiKey(peerId: string, role: 'agent' | 'admin' = 'agent') {
      const admin = await rp.token(adminKey);
      const res = await fetch(`${url}/api/keys`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ peer_id: peerId, role }),
      });
      const body = (await res.json()) as { key?: string; error?: { message: string } };
      if (!res.ok || !body.key) throw new Error(`POST /api/keys: ${res.status} ${body.error?.message ?? ''}`);
      return body.key;
    },
  };
  return rp;
}
