/**
 * An MCP server mounted on this sidecar (docs/interop.md): the official SDK client talks to it
 * (stdio child process or Streamable HTTP), and an agent named after it joins the local hub with one
 * skill per tool, `<server>.<tool>`, with the tool's input schema. A call is `tools/call`; progress
 * the server reports streams to the requester; a cancel reaches the server as MCP cancellation.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ArgsSchema, Id, describe } from '../mesh/protocol/index.ts';
import type { SkillDefinition } from '../mesh/agent/client.ts';
import type { Logger } from '../mesh/types.ts';
import { connectAgent } from './agent-socket.ts';
import type { McpServerConfig } from './interop-config.ts';
import { VERSION } from '../server/version.ts';

const CALL_TIMEOUT_MS = 5 * 60_000;
const MAX_TOOLS = 256;

export interface Mounted {
  name: string;
  skills: string[];
  close(): Promise<void>;
}

/** Where the server is, for the registry record (never its env or headers: they may hold secrets). */
const sourceOf = (c: McpServerConfig) => ('url' in c ? c.url : [c.command, ...c.args].join(' ')).slice(0, 2048);

async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor && tools.length < MAX_TOOLS);
  return tools.slice(0, MAX_TOOLS);
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');

export async function mountMcpServer(name: string, cfg: McpServerConfig, socketPath: string, log: Logger): Promise<Mounted> {
  const client = new Client({ name: `chatixia-sidecar (${name})`, version: VERSION });
  const transport =
    'url' in cfg
      ? new StreamableHTTPClientTransport(new URL(cfg.url), { requestInit: { headers: cfg.headers } })
      : new StdioClientTransport({
          command: cfg.command,
          args: cfg.args,
          env: { ...getDefaultEnvironment(), ...cfg.env },
          ...(cfg.cwd && { cwd: cfg.cwd }),
          stderr: 'pipe',
        });
  if (transport instanceof StdioClientTransport) transport.stderr?.on('data', (d: Buffer) => log.debug(`[mcp ${name}] ${d.toString().trimEnd()}`));
  await client.connect(transport);
  const skills: Record<string, SkillDefinition> = {};
  for (const tool of await listAllTools(client)) {
    const skill = `${name}.${tool.name}`;
    if (!Id.safeParse(skill).success) {
      log.warn(`[mcp ${name}] tool "${tool.name}" skipped: "${skill}" is not a valid skill name`);
      continue;
    }
    const schema = ArgsSchema.safeParse(tool.inputSchema);
    if (!schema.success)
      log.warn(
        `[mcp ${name}] tool "${tool.name}": its input schema is not offered to callers (${describe(schema.error)}); the server still checks the arguments`,
      );
    skills[skill] = {
      description: (tool.description ?? tool.title ?? `MCP tool ${tool.name} of ${name}`).slice(0, 1024),
      ...(schema.success && { args_schema: schema.data }),
      handler: async (args: Record<string, unknown> | undefined, call) => {
        const r = (await client.callTool({ name: tool.name, arguments: args ?? {} }, undefined, {
          signal: call.signal,
          timeout: CALL_TIMEOUT_MS,
          onprogress: (p) => p.message && call.stream(p.message),
        })) as CallToolResult;
        if (r.isError) throw new Error(`${skill}: ${textOf(r)}`);
        return r;
      },
    };
  }
  const agent = await connectAgent({ socketPath, name, backedBy: { protocol: 'mcp', source: sourceOf(cfg) }, skills, registerTimeoutMs: 30_000 });
  log.info(`[mcp ${name}] mounted: ${Object.keys(skills).length} tool(s) as skills of agent ${name}`);
  return {
    name,
    skills: Object.keys(skills),
    close: async () => {
      agent.close();
      await client.close().catch(() => {});
    },
  };
}
