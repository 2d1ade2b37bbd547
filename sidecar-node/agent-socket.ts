import { connect as netConnect } from 'node:net';
import { LIMITS } from '../mesh/protocol/index.ts';
import { type AgentClient, connect, type AgentOptions } from '../mesh/agent/client.ts';
import type { AgentTransport } from '../mesh/agent/transport.ts';
import { LineReader } from './line-reader.ts';

/** Why an agent could not reach its sidecar, and what to do about it (no stack trace). */
export class SidecarUnreachableError extends Error {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'ENOENT'
        ? 'no socket there'
        : cause.code === 'ECONNREFUSED'
          ? 'nothing listens on it'
          : cause.code === 'EACCES'
            ? "permission denied (run as the sidecar's user)"
            : cause.message;
    super(`cannot reach the sidecar at ${path}: ${why}. Start it with \`npx chatixia-sidecar\` or point IPC_SOCKET (or --ipc-socket) at its socket.`);
    this.name = 'SidecarUnreachableError';
  }
}

/** The agent's side of the sidecar's Unix socket, as an AgentTransport. */
export function socketTransport(path: string): Promise<AgentTransport> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(path);
    const refused = (e: NodeJS.ErrnoException) => reject(new SidecarUnreachableError(path, e));
    const lineFns: ((l: unknown) => void)[] = [];
    const closeFns: (() => void)[] = [];
    const reader = new LineReader(
      LIMITS.ipcLineBytes,
      (l) => lineFns.forEach((f) => f(l)),
      () => {},
    );
    sock.on('data', (c: Buffer) => reader.push(c));
    sock.once('error', refused);
    sock.on('close', () => closeFns.forEach((f) => f()));
    sock.once('connect', () => {
      sock.off('error', refused);
      sock.on('error', () => {});
      resolve({
        send: (line) => void sock.write(JSON.stringify(line) + '\n'),
        onLine: (cb) => lineFns.push(cb),
        onClose: (cb) => closeFns.push(cb),
        close: () => sock.end(),
      });
    });
  });
}

/** Connects an agent to a sidecar: `await connectAgent({ name, skills })` (socket from IPC_SOCKET). */
export async function connectAgent(opts: AgentOptions & { socketPath?: string } = {}): Promise<AgentClient> {
  const path = opts.socketPath ?? process.env.IPC_SOCKET ?? '/tmp/chatixia-sidecar.sock';
  return connect(await socketTransport(path), opts);
}

/**
 * Runs a one-file agent until SIGINT/SIGTERM or until the sidecar goes away:
 *   runAgent({ name: 'summarizer', skills: { summarize: async (args) => ... } })
 */
export async function runAgent(opts: AgentOptions & { socketPath?: string; name: string }): Promise<AgentClient> {
  let client: AgentClient;
  try {
    client = await connectAgent(opts);
  } catch (e) {
    // A one-file agent is run by hand: a readable line and a non-zero exit, not a stack trace.
    console.error(`[agent ${opts.name}] ${(e as Error).message}`);
    process.exit(1);
  }
  const stop = () => {
    client.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  client.on('close', () => process.exit(0));
  console.error(`[agent ${opts.name}] connected to peer ${client.peerId}`);
  return client;
}
