import { parseArgs } from 'node:util';
import { LIMITS } from '../mesh/protocol/limits.ts';
import { defaultDataDir, readDeviceFile } from './device-file.ts';
import { WEBRTC_STACKS, type WebRtcStackName } from './webrtc.ts';

export interface SidecarConfig {
  /** http(s)://host:port of the registry (derived from TOKEN_URL when not given). */
  registryUrl: string;
  tokenUrl: string;
  signalingUrl: string;
  apiKey?: string;
  deviceToken?: string;
  ipcSocket: string;
  turnUrl?: string;
  turnSecret?: string;
  iceTransportPolicy: 'all' | 'relay';
  heartbeatMs: number;
  maxMessageBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  hostname?: string;
  /** Where the identity key, certificate and known peers persist (paired, or --data-dir); none = key in memory. */
  identityDir?: string;
  /** Peer ids allowed to open links without an identity proof (Rust sidecars). */
  legacyPeers: string[];
  /** The WebRTC implementation asked for; none = node-datachannel when its binary loads, else werift. */
  webrtcStack?: WebRtcStackName;
  /** MCP servers and A2A agents to mount (docs/interop.md). */
  interopConfig?: string;
}

/** Each option: flag, environment variable, help text. Flags override the environment. */
const OPTIONS = [
  ['registry-url', 'REGISTRY_URL', 'Registry base URL, e.g. http://192.168.1.10:8080. Sets TOKEN_URL and SIGNALING_URL when they are not given.'],
  ['token-url', 'TOKEN_URL', 'Where the API key or device token is exchanged for a JWT (default http://localhost:8080/api/token).'],
  [
    'signaling-url',
    'SIGNALING_URL',
    'Signaling WebSocket (default: the registry URL with ws(s):// and /ws). The JWT is sent as a subprotocol, never in the URL.',
  ],
  ['api-key', 'API_KEY', "Agent API key (created by the admin: the dashboard's API keys card, or POST /api/keys). Required unless DEVICE_TOKEN is set."],
  ['device-token', 'DEVICE_TOKEN', 'Device token from pairing, instead of an API key.'],
  [
    'ipc-socket',
    'IPC_SOCKET',
    'Unix socket for local agents (default /tmp/chatixia-sidecar.sock). Created mode 0600 within a second of start; a stale file is replaced.',
  ],
  [
    'turn-url',
    'TURN_URL',
    "Extra TURN server (turn:host:3478), used with TURN_SECRET for ephemeral credentials. The registry's /api/config servers are always used.",
  ],
  ['turn-secret', 'TURN_SECRET', 'Shared secret of that TURN server (coturn use-auth-secret).'],
  ['ice-transport-policy', 'ICE_TRANSPORT_POLICY', '"all" (default) or "relay" (force every link through TURN).'],
  ['heartbeat-ms', 'HEARTBEAT_MS', 'Interval of registry heartbeats, which also fetch queued tasks (default 10000).'],
  ['max-message-bytes', 'MAX_MESSAGE_BYTES', `Largest mesh message sent or accepted (default ${LIMITS.meshMessageBytes}).`],
  ['log-level', 'LOG_LEVEL', 'debug | info (default) | warn | error. Tokens and keys are never logged.'],
  ['hostname', 'SIDECAR_HOSTNAME', "Host name reported to the registry (default: the machine's)."],
  [
    'data-dir',
    'SIDECAR_DATA_DIR',
    'Identity key, certificate, known peers and (after `pair`) the device token, all 0600 (default ~/.local/state/chatixia-sidecar; used when paired or given).',
  ],
  [
    'interop-config',
    'INTEROP_CONFIG',
    'JSON or YAML file of MCP servers (mcpServers) and A2A agents (a2aAgents) to mount as agents of this peer (docs/interop.md).',
  ],
  ['legacy-peers', 'LEGACY_PEERS', 'Comma-separated peer ids that may open links without an identity proof (Rust sidecars). Everyone else must prove.'],
  [
    'webrtc-stack',
    'WEBRTC_STACK',
    'node-datachannel | werift. Default: node-datachannel where its native binary loads (x86-64, arm64), else werift (pure TypeScript, e.g. 32-bit ARM).',
  ],
] as const;

export function helpText(): string {
  const lines = [
    'chatixia-sidecar — puts this machine (a Raspberry Pi, a VM) into the chatixia mesh as a peer.',
    'Local agents talk to it over a Unix socket with JSON lines (see docs/sidecar.md).',
    '',
    'Usage: chatixia-sidecar [options]    (or: npm run sidecar -- [options])',
    '       chatixia-sidecar call <skill> [json-args] [--peer <id>] [--agent <name>]   run a skill via the local sidecar',
    "       chatixia-sidecar mcp [--ipc-socket PATH]   an MCP server on stdio: the mesh's skills as tools (docs/interop.md)",
    '       chatixia-sidecar pair <code> [--registry-url URL] [--data-dir DIR]   pair this machine (approved in the dashboard)',
    '       chatixia-sidecar agent init [file] | agent run <file>   scaffold / run an LLM agent next to this sidecar',
    '',
    'Each option may also be given as an environment variable; the flag wins.',
    '',
  ];
  for (const [flag, env, help] of OPTIONS) lines.push(`  --${flag.padEnd(22)} ${env.padEnd(22)} ${help}`);
  lines.push('  --help                                        Show this text.', '');
  lines.push('Example: API_KEY=ak_... REGISTRY_URL=http://127.0.0.1:8080 chatixia-sidecar --ipc-socket /tmp/a.sock');
  return lines.join('\n');
}

export class ConfigError extends Error {}

export function parseConfig(argv: string[], env: Record<string, string | undefined>): SidecarConfig | 'help' {
  const { values } = (parseArgs as (c: unknown) => { values: Record<string, string | boolean | undefined> })({
    args: argv,
    options: Object.fromEntries([...OPTIONS.map(([f]) => [f, { type: 'string' as const }]), ['help', { type: 'boolean' as const }]]),
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const get = (flag: (typeof OPTIONS)[number][0]): string | undefined => {
    const env_ = OPTIONS.find((o) => o[0] === flag)![1];
    const v = (values[flag] as string | undefined) ?? env[env_];
    return v === undefined || v === '' ? undefined : v;
  };
  const apiKey = get('api-key');
  let deviceToken = get('device-token');
  const givenDir = get('data-dir');
  // No credentials given: the device token saved by `chatixia-sidecar pair`, if any.
  const paired = !apiKey && !deviceToken ? readDeviceFile(givenDir ?? defaultDataDir(env)) : undefined;
  if (paired) deviceToken = paired.device_token;
  let registryUrl = get('registry-url') ?? (get('token-url') ? undefined : paired?.registry_url);
  let tokenUrl = get('token-url');
  if (!registryUrl) registryUrl = tokenUrl ? tokenUrl.replace(/\/api\/token\/?$/, '') : 'http://localhost:8080';
  registryUrl = registryUrl.replace(/\/+$/, '');
  tokenUrl ??= `${registryUrl}/api/token`;
  const signalingUrl = get('signaling-url') ?? registryUrl.replace(/^http/, 'ws') + '/ws';
  for (const [name, u] of [
    ['registry URL', registryUrl],
    ['TOKEN_URL', tokenUrl],
    ['SIGNALING_URL', signalingUrl],
  ] as const) {
    try {
      new URL(u);
    } catch {
      throw new ConfigError(`${name} is not a valid URL: ${u}`);
    }
  }
  if (!apiKey && !deviceToken) throw new ConfigError('API_KEY (or DEVICE_TOKEN) is required, or pair first: chatixia-sidecar pair <code>; see --help');
  const policy = (get('ice-transport-policy') ?? 'all').toLowerCase();
  if (policy !== 'all' && policy !== 'relay') throw new ConfigError('ICE_TRANSPORT_POLICY must be "all" or "relay"');
  const num = (flag: 'heartbeat-ms' | 'max-message-bytes', dflt: number, min: number, max: number) => {
    const v = get(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${flag} must be an integer between ${min} and ${max}`);
    return n;
  };
  const level = (get('log-level') ?? 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new ConfigError('LOG_LEVEL must be debug, info, warn or error');
  const turnUrl = get('turn-url');
  const turnSecret = get('turn-secret');
  const hostname = get('hostname');
  const webrtcStack = get('webrtc-stack');
  if (webrtcStack !== undefined && !(WEBRTC_STACKS as readonly string[]).includes(webrtcStack))
    throw new ConfigError(`WEBRTC_STACK must be ${WEBRTC_STACKS.join(' or ')}`);
  const interopConfig = get('interop-config');
  return {
    registryUrl,
    tokenUrl,
    signalingUrl,
    ...(apiKey && { apiKey }),
    ...(deviceToken && { deviceToken }),
    ipcSocket: get('ipc-socket') ?? '/tmp/chatixia-sidecar.sock',
    ...(turnUrl && { turnUrl }),
    ...(turnSecret && { turnSecret }),
    iceTransportPolicy: policy,
    heartbeatMs: num('heartbeat-ms', 10_000, 200, 3_600_000),
    maxMessageBytes: num('max-message-bytes', LIMITS.meshMessageBytes, 1024, 1024 * 1024 * 1024),
    logLevel: level as SidecarConfig['logLevel'],
    ...(hostname && { hostname }),
    ...((givenDir ?? (paired && defaultDataDir(env))) && { identityDir: givenDir ?? defaultDataDir(env) }),
    ...(interopConfig && { interopConfig }),
    legacyPeers: (get('legacy-peers') ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    ...(webrtcStack && { webrtcStack: webrtcStack as WebRtcStackName }),
  };
}
