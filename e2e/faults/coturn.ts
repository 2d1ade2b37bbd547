// Starts Debian's real coturn (`turnserver`) for a test: TURN REST auth (`use-auth-secret`)
// with a random static secret, UDP/TCP on one address, no TLS, no CLI. It runs inside a lab
// namespace when one is given (else on loopback) and its log is kept for failure reports.
import { createHmac, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './netns.ts';

const STUN_PROBE = fileURLToPath(new URL('./stun-probe.mjs', import.meta.url));
export const TURNSERVER = process.env.TURNSERVER_BIN ?? '/usr/bin/turnserver';

export interface Coturn {
  /** `turn:<ip>:<port>` (UDP; add `?transport=tcp` for TCP) */
  url: string;
  ip: string;
  port: number;
  secret: string;
  realm: string;
  /** the server's log so far */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface CoturnOptions {
  /** run inside this lab's hub namespace on HUB_IP (default: loopback of this namespace) */
  lab?: Lab;
  ip?: string;
  port?: number;
  secret?: string;
}

/** TURN REST API credentials (what the registry's /api/config hands out): time-limited HMAC. */
export function turnCredentials(secret: string, user: string, ttlS = 3600): { username: string; credential: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlS}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

export async function startCoturn(opts: CoturnOptions = {}): Promise<Coturn> {
  const ipAddr = opts.ip ?? (opts.lab ? '10.77.0.1' : '127.0.0.1');
  const port = opts.port ?? 3478;
  const secret = opts.secret ?? randomBytes(24).toString('hex');
  const realm = 'chatixia.test';
  const dir = await mkdtemp(join(tmpdir(), 'cxf-turn-'));
  const logFile = join(dir, 'turn.log');
  // Relay ports are taken from a small random window so parallel runs rarely collide.
  const minPort = 40000 + Math.floor(Math.random() * 200) * 100;
  const args = [
    '-n',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--fingerprint',
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${realm}`,
    `--listening-ip=${ipAddr}`,
    `--relay-ip=${ipAddr}`,
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${minPort + 99}`,
    `--log-file=${logFile}`,
    '--simple-log',
    `--pidfile=${join(dir, 'turn.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
    '--no-software-attribute',
    '--verbose',
    ...(ipAddr.startsWith('127.') ? ['--allow-loopback-peers'] : []),
  ];
  let child: ChildProcess;
  let out = '';
  if (opts.lab) {
    child = opts.lab.spawn(opts.lab.hub, TURNSERVER, args).child;
  } else {
    child = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  child.stdout?.on('data', (b: Buffer) => {
    out += b;
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b;
  });
  const log = async () => out + (await readFile(logFile, 'utf8').catch(() => ''));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // Ready when a STUN Binding request on its UDP port is answered, probed from where clients are.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = opts.lab
      ? opts.lab.spawn(opts.lab.hub, process.execPath, [STUN_PROBE, ipAddr, String(port)])
      : {
          exited: new Promise<{ code: number | null }>((resolve) => {
            spawn(process.execPath, [STUN_PROBE, ipAddr, String(port)], { stdio: 'ignore' }).once('exit', (code) => resolve({ code }));
          }),
        };
    if ((await probe.exited).code === 0) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = await log();
      await stop();
      throw new Error(`turnserver did not start (exit ${child.exitCode}):\n${text.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `turn:${ipAddr}:${port}`, ip: ipAddr, port, secret, realm, log, stop };
}
