/**
 * `chatixia-sidecar mcp [--ipc-socket PATH]`: an MCP server on stdin/stdout for a desktop MCP client
 * (docs/interop.md). It talks to the local sidecar over its IPC socket: the tools are what
 * `list_skills` says this peer may use, and a call goes through the sidecar's `delegate` (direct
 * DataChannel, relay, or the task queue; the tier is in the result's _meta). Logs go to stderr:
 * stdout carries only the protocol.
 */
import { parseArgs } from 'node:util';
import { connectAgent } from './agent-socket.ts';
import type { AgentClient } from '../mesh/agent/client.ts';
import type { CatalogSkill } from '../mesh/llm/tools.ts';
import type { DelegateResult } from '../mesh/delegate.ts';
import { payloadOf } from '../mesh/protocol/index.ts';

const LIST_TIMEOUT_MS = 20_000;
const CALL_TIMEOUT_MS = 5 * 60_000;

export async function mcpMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'ipc-socket': { type: 'string' } } });
  const socketPath = values['ipc-socket'] ?? process.env.IPC_SOCKET ?? '/tmp/chatixia-sidecar.sock';
  let client: AgentClient;
  try {
    client = await connectAgent({ socketPath });
  } catch (err) {
    process.stderr.write(`chatixia-sidecar mcp: cannot reach the sidecar at ${socketPath} (${(err as Error).message}); start it first, or pass --ipc-socket\n`);
    return 1;
  }
  const [{ meshMcpServer }, { StdioServerTransport }, { VERSION }] = await Promise.all([
    import('../mesh/interop/mcp-tools.ts'),
    import('@modelcontextprotocol/sdk/server/stdio.js'),
    import('../server/version.ts'),
  ]);
  const sidecar = client;
  const server = meshMcpServer(
    {
      skills: async () => (await sidecar.task('list_skills', {}, { timeoutMs: LIST_TIMEOUT_MS })) as CatalogSkill[],
      call: async (skill, args, call) =>
        (await sidecar.task(
          'delegate',
          { skill, args, timeout_ms: CALL_TIMEOUT_MS },
          {
            timeoutMs: CALL_TIMEOUT_MS + 5_000,
            signal: call.signal,
            onChunk: (m) => call.onChunk(payloadOf(m, 'task_stream_chunk')?.text ?? ''),
          },
        )) as DelegateResult,
    },
    { name: 'chatixia-sidecar', version: VERSION },
  );
  await server.connect(new StdioServerTransport());
  process.stderr.write(`chatixia-sidecar mcp: serving the mesh's skills as tools over stdio\n`);
  return new Promise<number>((resolve) => {
    server.onclose = () => resolve(0);
    sidecar.on('close', () => {
      process.stderr.write('chatixia-sidecar mcp: the sidecar went away\n');
      resolve(1);
    });
  });
}
