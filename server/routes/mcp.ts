import { Hono } from 'hono';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { requireAuth } from '../http/auth.ts';
import { runSkill, skillsFor } from '../interop/run-skill.ts';
import { readJson } from '../http/body.ts';
import { z } from 'zod';
import { VERSION } from '../version.ts';
import type { CallsInProgress } from '../../mesh/interop/mcp-tools.ts';

/** What a POST to /mcp may carry: one JSON-RPC message or a non-empty batch (the SDK checks each message). */
const JsonRpcMessage = z.looseObject({ jsonrpc: z.literal('2.0') });
const McpBody = z.union([JsonRpcMessage, z.array(JsonRpcMessage).min(1).max(100)]);

function callsOf(all: Map<string, CallsInProgress>, peerId: string): CallsInProgress {
  let mine = all.get(peerId);
  if (!mine) all.set(peerId, (mine = new Map()));
  return mine;
}

/** How long one tool call may run before it is cancelled. */
const CALL_TIMEOUT_MS = 5 * 60_000;

/**
 * MCP over Streamable HTTP at /mcp (docs/interop.md): the caller's allowed skills as tools, a call
 * runs on the agent as a queued task (tier task_queue). Stateless: a server and transport per
 * request, so any registry instance answers and nothing is kept between requests. The SDK loads
 * on the first request only.
 */
export function mcpRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  // Per caller (peer id): a cancel names the request id the caller's client gave the call.
  const calls = new Map<string, CallsInProgress>();
  app.use('/mcp', requireAuth(reg));
  app.all('/mcp', async (c) => {
    const p = c.get('principal');
    // A POST body is read and checked first (JSON, one message or a non-empty batch, size) so a bad
    // one gets a readable error; the SDK takes it parsed. GET/DELETE go to the SDK as they are.
    const parsedBody = c.req.method === 'POST' ? await readJson(c, McpBody) : undefined;
    const [{ meshMcpServer }, { WebStandardStreamableHTTPServerTransport }] = await Promise.all([
      import('../../mesh/interop/mcp-tools.ts'),
      import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'),
    ]);
    const server = meshMcpServer(
      {
        skills: () => skillsFor(reg, p),
        call: (skill, args, call) => runSkill(reg, p, { skill, args, timeoutMs: CALL_TIMEOUT_MS, onChunk: call.onChunk, signal: call.signal }),
      },
      { name: 'chatixia-mesh registry', version: VERSION },
      callsOf(calls, p.peerId),
    );
    // No session id generator: stateless.
    const transport = new WebStandardStreamableHTTPServerTransport({});
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, parsedBody === undefined ? {} : { parsedBody });
  });
  return app;
}
