import type { Context } from 'hono';
import type { z } from 'zod';
import { LIMITS, describe, jsonShapeProblem } from '../../mesh/protocol/index.ts';
import { ApiError, badRequest } from './errors.ts';
import type { AppEnv } from './context.ts';

/**
 * Reads and validates a JSON body: size first (the body-limit middleware caps streamed bodies
 * too), then JSON, then the schema. An empty body counts as `{}` when `emptyOk`.
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S, emptyOk = false): Promise<z.infer<S>> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > LIMITS.restBodyBytes) throw new ApiError(413, 'too_large', `body exceeds ${LIMITS.restBodyBytes} bytes`);
  const text = await c.req.text();
  if (text.length > LIMITS.restBodyBytes) throw new ApiError(413, 'too_large', `body exceeds ${LIMITS.restBodyBytes} bytes`);
  let raw: unknown;
  if (text.trim() === '') {
    if (!emptyOk) throw badRequest('a JSON body is required', 'bad_json');
    raw = {};
  } else {
    try {
      raw = JSON.parse(text);
    } catch {
      throw badRequest('body is not valid JSON', 'bad_json');
    }
  }
  const shape = jsonShapeProblem(raw);
  if (shape) throw badRequest(shape);
  const res = schema.safeParse(raw);
  if (!res.success) throw badRequest(describe(res.error));
  return res.data;
}

/**
 * The client address, for per-client rate limits and the audit log: the socket's peer, or — only
 * when `trustProxy` reverse proxies are configured (TRUST_PROXY) — the address X-Forwarded-For
 * names that many hops back (the entries before it are the client's to forge).
 */
export function clientIp(c: Context<AppEnv>): string {
  const socketIp = c.env?.incoming?.socket?.remoteAddress ?? 'unknown';
  const hops = c.get('trustProxy') ?? 0;
  const forwarded = hops > 0 ? c.req.header('x-forwarded-for') : undefined;
  if (!forwarded) return socketIp;
  const chain = forwarded
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ip = chain[Math.max(0, chain.length - hops)];
  return ip && ip.length <= 64 ? ip : socketIp;
}
