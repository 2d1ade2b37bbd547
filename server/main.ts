import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { networkInterfaces } from 'node:os';
import { serve, type WebSocketServerLike } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../mesh/protocol/index.ts';
import { loadConfig, type RegistryConfig } from './config.ts';
import { loadDataDirSecrets } from './auth/secrets.ts';
import { readKeysFile, type StaticKeys } from './auth/keys-file.ts';
import { TokenSigner } from './auth/tokens.ts';
import { openDb } from './storage/db.ts';
import { RegistryState, now } from './state.ts';
import { SignalingHub } from './signaling/hub.ts';
import { JWT_SUBPROTOCOL } from './signaling/route.ts';
import { buildApp } from './app.ts';
import { buildWebIfMissing } from './web-build.ts';
import { fingerprint, selfSignedTls } from './tls.ts';
import { expireTasks } from './routes/hub.ts';
import { log } from './log.ts';
import { startPairing } from './pairing/index.ts';
import { loadSkillPolicy } from './routes/policy.ts';
import { loadTokenCutoffs } from './routes/keys.ts';
import { RedisCluster } from './cluster.ts';
import { applyRevocation } from './revocation.ts';
import { sharedSecret } from './storage/shared-secret.ts';
import { lockDataDir } from './storage/lock.ts';
import { randomBytes } from 'node:crypto';

function fail(msg: string): never {
  console.error(`chatixia-registry: ${msg}`);
  process.exit(1);
}

function lanUrls(cfg: RegistryConfig, port: number, scheme: string): string[] {
  if (cfg.host !== '0.0.0.0' && cfg.host !== '::') return [`${scheme}://${cfg.host}:${port}`];
  const urls = [`${scheme}://localhost:${port}`];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) urls.push(`${scheme}://${a.address}:${port}`);
  }
  return urls;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  let cfg: RegistryConfig;
  try {
    cfg = loadConfig();
  } catch (e) {
    fail((e as Error).message);
  }
  console.log(`chatixia-registry: starting (data in ${cfg.dataDir}${cfg.databaseUrl ? ', PostgreSQL from DATABASE_URL' : ''})`);
  let secrets;
  let staticKeys: StaticKeys = new Map();
  try {
    secrets = loadDataDirSecrets(cfg.dataDir, process.env);
    if (cfg.apiKeysFile) staticKeys = readKeysFile(cfg.apiKeysFile);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!cfg.databaseUrl) {
    try {
      lockDataDir(cfg.dataDir);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  const db = await openDb({
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    schema: cfg.databaseSchema,
    onProgress: (m) => console.log(`chatixia-registry: ${m}`),
  }).catch((e) => fail(`cannot open storage: ${(e as Error).message}`));
  if (cfg.databaseUrl && !process.env.JWT_SECRET) {
    // Instances sharing one PostgreSQL must sign and verify with the same secret.
    secrets.signingKey = new TextEncoder().encode(await sharedSecret(db, 'jwt_secret', () => randomBytes(32).toString('base64url')));
  }
  const reg = new RegistryState(cfg, db, new TokenSigner(secrets.signingKey, cfg.tokenTtlS), secrets.adminKey, staticKeys);
  reg.adminKeySource = secrets.adminKeySource;
  reg.hub = new SignalingHub({
    verifyToken: (t) => reg.auth.jwt(t),
    isRevoked: (p) => reg.auth.isRevoked(p),
    signalPerS: cfg.rate.signalPerS,
    onPeersChanged: () => reg.topologyChanged(),
  });
  await startPairing(reg);
  await loadTokenCutoffs(reg);
  await loadSkillPolicy(reg).catch((e) => fail(`skill policy: ${(e as Error).message}`));
  let cluster: RedisCluster | undefined;
  if (process.env.REDIS_URL) {
    cluster = new RedisCluster(process.env.REDIS_URL, process.env.REDIS_PREFIX || 'chatixia', {
      onMessage(msg) {
        if (msg.kind === 'revoke') return applyRevocation(reg, msg.revocation);
        if (msg.kind === 'chunk') return reg.taskChunks.emit('chunk', msg.task, msg.text);
        if (msg.kind === 'event') {
          if (msg.event.type === 'policy') reg.skillPolicy = msg.event.data;
          reg.bus.deliver(msg.event);
          return;
        }
        reg.hub.onCluster(msg);
      },
    });
    await cluster.start().catch((e) => fail(`cannot reach Redis at REDIS_URL: ${(e as Error).message}`));
    reg.hub.cluster = cluster;
    reg.bus.forward = (e) => void cluster!.publish({ kind: 'event', event: e });
    console.log(`chatixia-registry: joined the instance bus on Redis as ${cluster.instanceId}`);
  }
  if (cfg.buildWeb) buildWebIfMissing(cfg.webDistDir);

  const app = buildApp(reg);
  const wss = new WebSocketServer({
    noServer: true,
    // Far above the contract limit, so a too-large frame gets a readable error before ws cuts it off.
    maxPayload: LIMITS.signalFrameBytes * 16,
    handleProtocols: (protocols) => (protocols.has(JWT_SUBPROTOCOL) ? JWT_SUBPROTOCOL : false),
  });
  let tls: { cert: Buffer; key: Buffer } | undefined;
  try {
    if (cfg.tlsCert && cfg.tlsKey) tls = { cert: readFileSync(cfg.tlsCert), key: readFileSync(cfg.tlsKey) };
    else if (process.env.TLS_SELF_SIGNED === '1') {
      const s = await selfSignedTls(cfg.dataDir);
      tls = s;
      console.log(
        `chatixia-registry: HTTPS with the self-signed certificate ${s.certPath}\n  SHA-256 fingerprint ${fingerprint(s.cert)} (check it when the browser asks; see docs/registry.md to trust it on a phone)`,
      );
    }
  } catch (e) {
    fail(`TLS: ${(e as Error).message}`);
  }
  const scheme = tls ? 'https' : 'http';
  const server = serve(
    {
      fetch: app.fetch,
      port: cfg.port,
      hostname: cfg.host,
      // The adapter's type was written without exactOptionalPropertyTypes (`noServer?: boolean`
      // vs ws's `boolean | undefined`): the same shape, told to the compiler once here.
      websocket: { server: wss as WebSocketServerLike },
      ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
    },
    (info) => {
      const urls = lanUrls(cfg, info.port, scheme);
      console.log(`chatixia-registry: listening on ${urls.join('  ')} (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      console.log(
        secrets.adminKeySource === 'env'
          ? 'Log in to the dashboard with the admin key from ADMIN_API_KEY.'
          : `Log in: open ${urls[0]} and paste the admin key from ${secrets.adminKeyPath}` +
              (secrets.createdAdminKey ? ' (created now, first start)' : '') +
              `\n  e.g. curl -X POST -H "X-API-Key: $(cat ${secrets.adminKeyPath})" ${urls[0]}/api/token`,
      );
      console.log(
        'Pair a device: in the dashboard, Devices → "Add a device", then scan the QR code on the phone, or run `chatixia-sidecar pair <code>` on a Pi.',
      );
    },
  );
  server.on('error', (e) => fail(`cannot listen on ${cfg.host}:${cfg.port}: ${(e as Error).message}`));

  // Timers: TTL expiry and health transitions become live events without any request.
  let lastSweep = now();
  const sweeper = setInterval(() => {
    const t = now();
    const before = lastSweep;
    lastSweep = t;
    expireTasks(reg)
      .then(() => reg.agents.healthChangedBetween(before, t))
      .then((changed) => changed && reg.agentsChanged())
      .catch((e) => log.error('sweep failed', e));
  }, cfg.sweepMs);
  sweeper.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`chatixia-registry: ${signal}, shutting down`);
    clearInterval(sweeper);
    const localPeers = reg.hub.peerIds();
    reg.hub.closeAll();
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    void cluster?.stop(localPeers);
    server.close(() => undefined);
    if ('closeAllConnections' in server) server.closeAllConnections();
    db.close()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// No input may take the process down: log what escaped and keep serving.
process.on('uncaughtException', (e) => log.error('uncaught exception', e));
process.on('unhandledRejection', (e) => log.error('unhandled rejection', e));

await main();
