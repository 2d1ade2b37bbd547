import { connect as netConnect } from 'node:net';
import { LIMITS } from '../mesh/protocol/index.ts';
import { AgentClient, connect, type AgentOptions } from '../mesh/agent/client.ts';
import type { AgentTransport } from '../mesh/agent/transport.ts';
import { LineReader } from './line-reader.ts';

/** The agent's side of the sidecar's Unix socket, as an AgentTransport. */
export function socketTransport(path: string): Promise<AgentTransport> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(path);
    const lineFns: ((l: unknown) => void)[] = [];
    const closeFns: (() => void)[] = [];
    const reader = new LineReader(LIMITS.ipcLineBytes, (l) => lineFns.forEach((f) => f(l)), () => {});
    sock.on('data', (c: Buffer) => reader.push(c));
    sock.once('error', reject);
    sock.on('close', () => closeFns.forEach((f) => f()));
    sock.once('connect', () => {
      sock.off('error', reject);
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
  const client = await connectAgent(opts);
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
