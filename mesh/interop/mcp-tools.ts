/**
 * Mesh skills as MCP tools (docs/interop.md): one MCP server, built on the official SDK, for the
 * registry's Streamable HTTP door (`/mcp`) and the sidecar's stdio door (`chatixia-sidecar mcp`).
 * Each door brings its own backend: which skills the caller may use, and how a call runs.
 * Node only (the SDK is loaded lazily by the doors).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  CancelledNotificationSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CatalogSkill } from '../llm/tools.ts';
import { LIMITS } from '../protocol/index.ts';

export interface ToolCall {
  signal: AbortSignal;
  /** A streamed piece of the answer (sent as MCP progress when the client asked for it). */
  onChunk: (text: string) => void;
}

/** Where a call ran: the delegate tier, the agent, and the queue task when there was one. */
export interface ToolAnswer {
  result: unknown;
  tier: string;
  agent_id?: string | undefined;
  task_id?: string | undefined;
}

export interface ToolBackend {
  skills(): Promise<CatalogSkill[]>;
  call(skill: string, args: Record<string, unknown>, call: ToolCall): Promise<ToolAnswer>;
}

/** MCP tool names are `[A-Za-z0-9_.-]{1,128}`; skill names may also hold `:` and `@`. */
function toolNames(skills: CatalogSkill[]): Map<string, CatalogSkill> {
  const out = new Map<string, CatalogSkill>();
  for (const s of skills) {
    const base = s.skill.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120);
    let name = base;
    for (let n = 2; out.has(name); n++) name = `${base}_${n}`;
    out.set(name, s);
  }
  return out;
}

/** A skill's answer as tool content: an MCP-backed agent's CallToolResult passes through, anything else as text (+ structured when an object). */
export function toolResult(answer: ToolAnswer): CallToolResult {
  const r = answer.result;
  const meta = {
    'chatixia/tier': answer.tier,
    ...(answer.agent_id && { 'chatixia/agent_id': answer.agent_id }),
    ...(answer.task_id && { 'chatixia/task_id': answer.task_id }),
  };
  const passed = CallToolResultSchema.safeParse(r);
  // An MCP-backed agent's answer (it has `content`; the schema would default a missing one).
  if (passed.success && r && typeof r === 'object' && 'content' in r) return { ...passed.data, _meta: meta };
  const text = typeof r === 'string' ? r : JSON.stringify(r ?? null);
  const structured = r && typeof r === 'object' && !Array.isArray(r) ? { structuredContent: r as Record<string, unknown> } : {};
  return { content: [{ type: 'text', text }], ...structured, _meta: meta };
}

/**
 * Calls in progress by JSON-RPC request id. A stateless HTTP door builds a server per request, so
 * the client's `notifications/cancelled` reaches another server than the call: sharing this map
 * (per caller) lets it stop the call anyway.
 */
export type CallsInProgress = Map<string | number, AbortController>;

export function meshMcpServer(backend: ToolBackend, info: { name: string; version: string }, calls: CallsInProgress = new Map()): Server {
  const server = new Server(info, {
    capabilities: { tools: { listChanged: false } },
    instructions: 'Each tool is a skill of an agent in a chatixia mesh; a call runs it on that agent. _meta["chatixia/tier"] says which path carried it.',
  });
  server.setNotificationHandler(CancelledNotificationSchema, (n) => {
    const id = n.params.requestId;
    if (id !== undefined) calls.get(id)?.abort(new Error(n.params.reason ?? 'cancelled by the client'));
  });
  const current = async () => toolNames(await backend.skills());
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...(await current())].map(([name, s]): Tool => {
      const where =
        s.agents
          .slice(0, 3)
          .map((a) => a.agent_id)
          .join(', ') + (s.agents.length > 3 ? ', …' : '');
      return {
        name,
        ...(name !== s.skill && { title: s.skill }),
        description: `${s.description ?? `Mesh skill ${s.skill}.`} (runs on ${where})`,
        inputSchema: (s.args_schema ?? { type: 'object' }) as Tool['inputSchema'],
      };
    }),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const s = (await current()).get(req.params.name);
    if (!s)
      throw new McpError(
        ErrorCode.InvalidParams,
        `no tool "${req.params.name}" (list the tools again: agents come and go, and the policy decides which skills you may use)`,
      );
    const args = req.params.arguments ?? {};
    const size = JSON.stringify(args).length;
    if (size > LIMITS.restBodyBytes)
      throw new McpError(ErrorCode.InvalidParams, `arguments are ${size} characters as JSON; the limit is ${LIMITS.restBodyBytes}`);
    const token = extra._meta?.progressToken;
    let progress = 0;
    const cancel = new AbortController();
    const onAbort = () => cancel.abort(extra.signal.reason);
    extra.signal.addEventListener('abort', onAbort, { once: true });
    calls.set(extra.requestId, cancel);
    try {
      const answer = await backend.call(s.skill, args, {
        signal: cancel.signal,
        onChunk: (text) => {
          if (token === undefined) return;
          void extra
            .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: ++progress, message: text } })
            .catch(() => {});
        },
      });
      return toolResult(answer);
    } catch (err) {
      // A refused or failed run is the tool's answer, not a protocol error: the model reads it.
      return { isError: true, content: [{ type: 'text', text: (err as Error).message }] };
    } finally {
      extra.signal.removeEventListener('abort', onAbort);
      if (calls.get(extra.requestId) === cancel) calls.delete(extra.requestId);
    }
  });
  return server;
}
