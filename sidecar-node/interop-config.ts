import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describe } from '../mesh/protocol/index.ts';

/** A name that becomes an agent name and the prefix of its skills (`<name>.<tool>`). */
const MountName = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, '1-40 letters, digits, _ or -');
const Headers = z.record(z.string().max(256), z.string().max(8192)).refine((h) => Object.keys(h).length <= 32, 'at most 32 headers');
const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** An MCP server: a command line (stdio, as desktop MCP clients write it) or a Streamable HTTP URL. */
const McpServer = z.union([
  z.strictObject({
    command: z.string().min(1).max(1024),
    args: z.array(z.string().max(4096)).max(64).default([]),
    env: z.record(z.string().max(256), z.string().max(8192)).default({}),
    cwd: z.string().max(1024).optional(),
  }),
  z.strictObject({ url: HttpUrl, headers: Headers.default({}) }),
]);

/** An external A2A agent: its base URL (the card is at /.well-known/agent-card.json below it). */
const A2aAgent = z.strictObject({ url: HttpUrl, headers: Headers.default({}) });

/**
 * `--interop-config FILE` (JSON or YAML): what this sidecar mounts into the mesh (docs/interop.md).
 * `allowPrivateNetworks`: hosts (or `*`) whose card and push URLs may resolve to loopback or
 * private addresses; everyone else is refused (SSRF).
 */
export const InteropConfig = z.strictObject({
  mcpServers: z
    .record(MountName, McpServer)
    .refine((m) => Object.keys(m).length <= 32, 'at most 32 MCP servers')
    .default({}),
  a2aAgents: z
    .record(MountName, A2aAgent)
    .refine((m) => Object.keys(m).length <= 32, 'at most 32 A2A agents')
    .default({}),
  allowPrivateNetworks: z.array(z.string().max(255)).max(64).default([]),
});
export type InteropConfig = z.infer<typeof InteropConfig>;
export type McpServerConfig = z.infer<typeof McpServer>;

/** Reads and checks the file; throws an Error that names the file and the bad field. */
export function readInteropConfig(file: string): InteropConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the interop config ${file}: ${(e as Error).message}`);
  }
  if (text.length > 256 * 1024) throw new Error(`the interop config ${file} is larger than 256 KiB`);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new Error(`the interop config ${file} is neither JSON nor YAML: ${(e as Error).message}`);
  }
  const res = InteropConfig.safeParse(raw ?? {});
  if (!res.success) throw new Error(`the interop config ${file} is not valid: ${describe(res.error)}`);
  return res.data;
}
