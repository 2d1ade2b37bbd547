/**
 * The A2A JSON-RPC binding on the registry, from the official SDK's server pieces: its request
 * handler (task lifecycle, streaming, cancel, listing) and JSON-RPC transport handler, mounted in
 * Hono. Loaded on the first A2A request (server/routes/a2a.ts).
 */
import { A2A_VERSION_HEADER, SendMessageRequest, type Message } from '@a2a-js/sdk';
import { DefaultRequestHandler, JsonRpcTransportHandler, validateVersion } from '@a2a-js/sdk/server';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { AppEnv } from '../http/context.ts';
import { readJson } from '../http/body.ts';
import { ApiError } from '../http/errors.ts';
import { now, type RegistryState } from '../state.ts';
import { log } from '../log.ts';
import { A2aTaskStore } from './a2a-store.ts';
import { callContext } from './a2a-context.ts';
import { MeshAgentExecutor } from './a2a-executor.ts';
import { BadMessage, skillCall } from './a2a-message.ts';
import { registryCard } from './a2a-card.ts';
import { checkPolicy } from './run-skill.ts';
import { PROMPT_SKILL } from '../../mesh/protocol/index.ts';

/** A JSON-RPC 2.0 request as the door accepts it (the SDK checks the method's params). */
const JsonRpcRequest = z.looseObject({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(64),
  id: z.union([z.string().max(256), z.number(), z.null()]).optional(),
  params: z.unknown().optional(),
});

const rpcError = (id: unknown, code: number, message: string) => ({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });

export function a2aDoor(reg: RegistryState) {
  const card = registryCard([], '');
  const handler = new DefaultRequestHandler(card, new A2aTaskStore(reg.db), new MeshAgentExecutor(reg));
  const transport = new JsonRpcTransportHandler(handler);

  /** Refusals a client should see before a task exists: a message that names no skill, an agent without it, a skill the policy forbids. */
  async function precheck(c: Context<AppEnv>, params: unknown, agentId: string): Promise<void> {
    let msg: Message | undefined;
    try {
      msg = SendMessageRequest.fromJSON(params ?? {}).message;
    } catch (e) {
      throw new ApiError(400, 'invalid', `params are not a SendMessageRequest: ${(e as Error).message}`);
    }
    if (!msg) throw new ApiError(400, 'invalid', 'params.message is required');
    const rec = agentId ? await reg.agents.get(agentId, now()) : undefined;
    let call: { skill: string; args: unknown };
    try {
      call = skillCall(msg, rec?.record.capabilities.skills);
    } catch (e) {
      if (e instanceof BadMessage) throw new ApiError(400, 'invalid', e.message);
      throw e;
    }
    checkPolicy(reg, c.get('principal'), call.skill);
    if (rec && call.skill !== PROMPT_SKILL && !rec.record.capabilities.skills.includes(call.skill))
      throw new ApiError(404, 'no_skill', `agent ${agentId} has no skill "${call.skill}"`);
  }

  return {
    async handle(c: Context<AppEnv>, agentId: string): Promise<Response> {
      const body = await readJson(c, JsonRpcRequest);
      if (body.method === 'SendMessage' || body.method === 'SendStreamingMessage') {
        try {
          await precheck(c, body.params, agentId);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          return c.json(rpcError(body.id, e.status === 403 ? -32600 : -32602, e.message), e.status);
        }
      }
      const context = callContext(c.get('principal'), agentId, c.req.header(A2A_VERSION_HEADER) || undefined);
      try {
        validateVersion(context.requestedVersion, card, 'JSONRPC');
      } catch (e) {
        return c.json({ jsonrpc: '2.0', id: body.id ?? null, error: JsonRpcTransportHandler.mapToJSONRPCError(e) });
      }
      const out = await transport.handle(body, context);
      if (!(Symbol.asyncIterator in out)) return c.json(out);
      // Streaming: an error before the first event is a plain JSON-RPC answer, as the SDK's own adapters do it.
      const events = out[Symbol.asyncIterator]();
      let first: IteratorResult<unknown>;
      try {
        first = await events.next();
      } catch (e) {
        return c.json(rpcError(body.id, JsonRpcTransportHandler.mapToJSONRPCError(e).code, (e as Error).message));
      }
      return streamSSE(c, async (s) => {
        try {
          if (!first.done) await s.writeSSE({ data: JSON.stringify(first.value) });
          for (let n = await events.next(); !n.done; n = await events.next()) await s.writeSSE({ data: JSON.stringify(n.value) });
        } catch (e) {
          log.warn(`a2a: stream of request ${String(body.id)} failed: ${(e as Error).message}`);
          await s.writeSSE({
            event: 'error',
            data: JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, error: JsonRpcTransportHandler.mapToJSONRPCError(e) }),
          });
        }
      });
    },
  };
}
