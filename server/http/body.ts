import type { Context } from 'hono';
import type { z } from 'zod';
import { LIMITS, describe } from '../../mesh/protocol/index.ts';
import { ApiError, badRequest } from './errors.ts';

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
  const res = schema.safeParse(raw);
  if (!res.success) throw badRequest(describe(res.error));
  return res.data;
}

/** The client address, for per-client rate limits. */
export function clientIp(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}
