import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { LIMITS } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { errorBody } from '../http/errors.ts';
import { requireAuth } from '../http/auth.ts';
import { runSkill, skillsFor } from '../interop/run-skill.ts';
import { VERSION } from '../version.ts';
import type { CallsInProgress } from '../../mesh/interop/mcp-tools.ts';

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
  app.use('/mcp', bodyLimit({ maxSize: LIMITS.restBodyBytes, onError: (c) => c.json(errorBody('too_large', `body exceeds ${LIMITS.restBodyBytes} bytes`), 413) }));
  app.all('/mcp', async (c) => {
    const p = c.get('principal');
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
    return transport.handleRequest(c.req.raw);
  });
  return app;
}
