import { resolve } from 'node:path';

/** Everything the registry reads from its environment (documented in docs/registry.md, Configuration), parsed once at start. */
export interface RegistryConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema for all tables (lets tests share one database). */
  databaseSchema: string | undefined;
  adminApiKey: string | undefined;
  apiKeysFile: string | undefined;
  healthStaleS: number;
  healthOfflineS: number;
  taskTtlS: number;
  /**
   * Seconds an assigned task stays with its agent without a heartbeat of that agent (every
   * heartbeat of the holder renews it). When it runs out the task is re-queued, or failed if it has
   * an idempotency key or was handed out taskMaxAttempts times.
   */
  taskLeaseS: number;
  taskMaxAttempts: number;
  tokenTtlS: number;
  stunUrls: string[];
  turnUrl: string | undefined;
  turnSecret: string | undefined;
  turnTtlS: number;
  iceTransportPolicy: 'all' | 'relay' | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  webDistDir: string;
  buildWeb: boolean;
  rate: { tokenPerMin: number; pairingPerMin: number; pairingWrongPerMin: number; pairingStatusPerMin: number; taskPerMin: number; signalPerS: number };
  /** Signaling sockets open without a token at once (each has 10 s to send one); more get 503. */
  maxUnauthenticatedSockets: number;
  /** Open GET /api/events streams per peer id; more get 429. */
  maxEventStreamsPerPeer: number;
  pairingCodeTtlS: number;
  /** Wrong pairing attempts while a code is live after which it dies (PAIRING_MAX_WRONG_ATTEMPTS). */
  pairingMaxWrong: number;
  /**
   * Reverse proxies in front of the registry whose X-Forwarded-For is believed (TRUST_PROXY: a hop
   * count, `true` = 1). 0: the header is ignored and the socket's address is the client's.
   */
  trustProxy: number;
  /** Interval of the health/TTL sweeper, ms. */
  sweepMs: number;
}

function num(env: NodeJS.ProcessEnv, name: string, def: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return n;
}

function opt(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const healthStaleS = num(env, 'HEALTH_STALE_S', 90, 0.1);
  const healthOfflineS = num(env, 'HEALTH_OFFLINE_S', 270, 0.1);
  if (healthOfflineS < healthStaleS) throw new Error('HEALTH_OFFLINE_S must be >= HEALTH_STALE_S');
  const taskTtlS = num(env, 'TASK_TTL_S', 300, 0.1);
  // Default: HEALTH_STALE_S (90 s) — an agent keeps its tasks exactly as long as it counts as
  // active. Sidecars heartbeat every 10 s and tabs every 15 s, and Chrome may slow a hidden tab's
  // timers to once a minute, so a live holder still renews in time; a dead one's task moves on
  // after 90 s, leaving most of the 300 s TTL for the retry.
  const taskLeaseS = num(env, 'TASK_LEASE_S', healthStaleS, 1);
  const taskMaxAttempts = num(env, 'TASK_MAX_ATTEMPTS', 3, 1);
  if (!Number.isInteger(taskMaxAttempts)) throw new Error(`TASK_MAX_ATTEMPTS must be a whole number, got "${env.TASK_MAX_ATTEMPTS}"`);
  const policy = opt(env, 'ICE_TRANSPORT_POLICY');
  if (policy && policy !== 'all' && policy !== 'relay') throw new Error('ICE_TRANSPORT_POLICY must be all or relay');
  const tlsCert = opt(env, 'TLS_CERT');
  const tlsKey = opt(env, 'TLS_KEY');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new Error('TLS_CERT and TLS_KEY must be set together');
  return {
    port: num(env, 'PORT', 8080, 0),
    host: opt(env, 'HOST') ?? '0.0.0.0',
    dataDir: resolve(opt(env, 'MESH_DATA_DIR') ?? './.mesh-data'),
    databaseUrl: opt(env, 'DATABASE_URL'),
    databaseSchema: opt(env, 'DATABASE_SCHEMA'),
    adminApiKey: opt(env, 'ADMIN_API_KEY'),
    apiKeysFile: opt(env, 'API_KEYS_FILE'),
    healthStaleS,
    healthOfflineS,
    taskTtlS,
    taskLeaseS,
    taskMaxAttempts,
    tokenTtlS: num(env, 'TOKEN_TTL_S', 900, 1),
    stunUrls: (opt(env, 'STUN_URLS') ?? 'stun:stun.l.google.com:19302')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    turnUrl: opt(env, 'TURN_URL'),
    turnSecret: opt(env, 'TURN_SECRET'),
    // Short: coturn cannot revoke a credential, so a revoked peer's TURN access ends only when it expires.
    turnTtlS: num(env, 'TURN_TTL_S', 3600, 60),
    iceTransportPolicy: policy as 'all' | 'relay' | undefined,
    tlsCert,
    tlsKey,
    webDistDir: resolve(opt(env, 'WEB_DIST_DIR') ?? 'dist'),
    buildWeb: (opt(env, 'MESH_BUILD_WEB') ?? '1') !== '0',
    rate: {
      tokenPerMin: num(env, 'RATE_TOKEN_PER_MIN', 120, 1),
      pairingPerMin: num(env, 'RATE_PAIRING_PER_MIN', 5, 1),
      pairingWrongPerMin: num(env, 'RATE_PAIRING_WRONG_PER_MIN', 20, 1),
      pairingStatusPerMin: num(env, 'RATE_PAIRING_STATUS_PER_MIN', 120, 1),
      taskPerMin: num(env, 'RATE_TASK_PER_MIN', 1200, 1),
      signalPerS: num(env, 'RATE_SIGNAL_PER_S', 200, 1),
    },
    maxUnauthenticatedSockets: num(env, 'MAX_UNAUTHENTICATED_SOCKETS', 1000, 1),
    maxEventStreamsPerPeer: num(env, 'MAX_EVENT_STREAMS_PER_PEER', 16, 1),
    pairingCodeTtlS: num(env, 'PAIRING_CODE_TTL_S', 300, 1),
    pairingMaxWrong: num(env, 'PAIRING_MAX_WRONG_ATTEMPTS', 10, 1),
    trustProxy: env.TRUST_PROXY === 'true' ? 1 : env.TRUST_PROXY === 'false' ? 0 : num(env, 'TRUST_PROXY', 0, 0),
    sweepMs: Math.max(100, Math.min(5000, Math.floor(Math.min(healthStaleS, taskTtlS, taskLeaseS) * 250))),
  };
}
