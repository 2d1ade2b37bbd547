import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { REVOKED, type RevokedBody } from '../../mesh/protocol/index.ts';

/** A refusal with a stable code; the error handler turns it into {"error":{code,message}}. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller's credential was revoked (its API key deleted or its device revoked): 401 with the
 * revocation contract's body `{"error": text, "code": "revoked"}` (mesh/protocol/revocation.ts).
 */
export class RevokedError extends ApiError {
  constructor(message: string) {
    super(401, REVOKED, message);
  }
}

export const badRequest = (message: string, code = 'invalid') => new ApiError(400, code, message);
export const unauthorized = (message = 'a valid token or API key is required') => new ApiError(401, 'unauthorized', message);
export const forbidden = (message = 'not allowed') => new ApiError(403, 'forbidden', message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);
export const tooMany = (message = 'too many requests, try again later') => new ApiError(429, 'rate_limited', message);

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

export function revokedBody(message: string): RevokedBody {
  return { error: message, code: REVOKED };
}

export function sendError(c: Context, status: ContentfulStatusCode, code: string, message: string) {
  return c.json(errorBody(code, message), status);
}
