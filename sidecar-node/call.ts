/**
 * `chatixia-sidecar call <skill> [json-args] [--peer <peer-id>] [--agent <name>] [--timeout-ms N]`:
 * runs one skill through the local sidecar (its IPC socket) and prints the result as JSON.
 * Without --peer the skill runs on this sidecar — e.g. its built-in `delegate`, `list_agents`.
 */
import { parseArgs } from 'node:util';
import { connectAgent } from './agent-socket.ts';
import type { AgentClient } from '../mesh/agent/client.ts';
import { payloadOf } from '../mesh/protocol/index.ts';

export async function callMain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      peer: { type: 'string' },
      agent: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'ipc-socket': { type: 'string' },
    },
    allowPositionals: true,
  });
  const [skill, json] = positionals;
  if (!skill) {
    process.stderr.write('usage: chatixia-sidecar call <skill> [json-args] [--peer <peer-id>] [--agent <name>] [--timeout-ms N]\n');
    return 2;
  }
  let args: unknown = {};
  if (json) {
    try {
      args = JSON.parse(json);
    } catch {
      process.stderr.write('json-args is not valid JSON\n');
      return 2;
    }
  }
  const timeoutMs = Number(values['timeout-ms'] ?? 60_000);
  let client: AgentClient | undefined;
  let streamed = false;
  try {
    client = await connectAgent({ socketPath: values['ipc-socket'] ?? process.env.IPC_SOCKET ?? '/tmp/chatixia-sidecar.sock' });
    const result = await client.task(skill, args, {
      timeoutMs,
      ...(values.peer && { peer: values.peer }),
      ...(values.agent && { agent: values.agent }),
      onChunk: (m) => {
        streamed = true;
        process.stderr.write(payloadOf(m, 'task_stream_chunk')?.text ?? '');
      },
    });
    if (streamed) process.stderr.write('\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 1;
  } finally {
    client?.close();
  }
}
