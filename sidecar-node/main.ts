/**
 * Entry point of `chatixia-sidecar` (bin/chatixia-sidecar.mjs). Only light modules load before
 * the IPC socket listens (agents that spawn the sidecar wait for the socket file); WebRTC, ws and
 * the mesh core load after.
 */
import { ConfigError, helpText, parseConfig } from './config.ts';
import { makeLogger } from './log.ts';
import { IpcServer } from './ipc-server.ts';
import { errorCode } from '../mesh/error-fields.ts';

if (process.argv[2] === 'pair') {
  const { pairMain } = await import('./pair.ts');
  process.exit(await pairMain(process.argv.slice(3)));
}
if (process.argv[2] === 'agent') {
  const { agentMain } = await import('./llm-agent.ts');
  process.exit(await agentMain(process.argv.slice(3)));
}
if (process.argv[2] === 'mcp') {
  const { mcpMain } = await import('./mcp-stdio.ts');
  process.exit(await mcpMain(process.argv.slice(3)));
}
if (process.argv[2] === 'call') {
  const { callMain } = await import('./call.ts');
  process.exit(await callMain(process.argv.slice(3)));
}

let cfg;
try {
  cfg = parseConfig(process.argv.slice(2), process.env);
} catch (err) {
  const msg = err instanceof ConfigError || errorCode(err)?.startsWith('ERR_PARSE_ARGS') ? (err as Error).message : String(err);
  process.stderr.write(`chatixia-sidecar: ${msg}\n(run with --help for the options)\n`);
  process.exit(2);
}
if (cfg === 'help') {
  process.stdout.write(helpText() + '\n');
  process.exit(0);
}

const log = makeLogger(cfg.logLevel);
let interop: import('./interop-config.ts').InteropConfig | undefined;
if (cfg.interopConfig) {
  const { readInteropConfig } = await import('./interop-config.ts');
  try {
    interop = readInteropConfig(cfg.interopConfig);
  } catch (err) {
    process.stderr.write(`chatixia-sidecar: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
let sidecar;
let sidecarModule: typeof import('./sidecar.ts');
try {
  const ipc = new IpcServer(cfg.ipcSocket, log);
  await ipc.listen();
  log.info(`[sidecar] IPC socket ready at ${cfg.ipcSocket} (${Math.round(process.uptime() * 1000)} ms after start)`);
  sidecarModule = await import('./sidecar.ts');
  sidecar = await sidecarModule.startSidecar(cfg, log, ipc);
} catch (err) {
  log.error(`[sidecar] cannot start: ${(err as Error).message}`);
  process.exit(1);
}
const sc = sidecar;
const { CredentialRefusedError, REVOKED_EXIT_CODE } = sidecarModule;

/** What to do next when the registry will not have this sidecar any more. */
const rejoin = cfg.apiKey
  ? 'Ask an admin for a new API key (dashboard → API keys) and set API_KEY.'
  : `Pair it again: chatixia-sidecar pair <code> --registry-url ${cfg.registryUrl}`;
/** Revoked or refused: retrying cannot help, so exit with a status systemd is told not to restart on. */
const refused = async (why: string) => {
  log.error(`[sidecar] ${why}. ${rejoin} Exiting with status ${REVOKED_EXIT_CODE} (a systemd unit needs RestartPreventExitStatus=${REVOKED_EXIT_CODE}).`);
  await sc.stop();
  process.exit(REVOKED_EXIT_CODE);
};

let mounted: Promise<{ close(): Promise<void> }[]> = Promise.resolve([]);
sc.ready.then(
  ({ peerId }) => {
    log.info(`[sidecar] peer ${peerId} is in the mesh (registry ${cfg.registryUrl})`);
    const toMount = interop;
    if (toMount) mounted = import('./interop-mount.ts').then((m) => m.mountAll(toMount, cfg.ipcSocket, log));
  },
  async (err) => {
    if ((err as Error).message === 'stopped') return;
    if (err instanceof CredentialRefusedError) return refused((err as Error).message);
    log.error(`[sidecar] ${(err as Error).message}`);
    await sc.stop();
    process.exit(1);
  },
);
void sc.revoked.then((message) => refused(`revoked: ${message}`));

let signals = 0;
const shutdown = async (sig: string) => {
  if (++signals > 1) process.exit(1);
  log.info(`[sidecar] ${sig}: shutting down`);
  await Promise.race([mounted.then((ms) => Promise.all(ms.map((m) => m.close()))), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
  await sc.stop().catch((err) => log.error(`[sidecar] shutdown: ${(err as Error).message}`));
  log.info('[sidecar] stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('uncaughtException', (err) => log.error(`[sidecar] uncaught: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => log.error(`[sidecar] unhandled rejection: ${String((err as Error)?.stack ?? err)}`));
