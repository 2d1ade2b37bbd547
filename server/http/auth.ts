import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './context.ts';
import type { RegistryState } from '../state.ts';
import type { Principal } from '../auth/tokens.ts';
import { forbidden, unauthorized } from './errors.ts';

/**
 * Who is calling: `Authorization: Bearer <jwt>`, or `X-API-Key` directly (the Python agents
 * send it), or `X-Device-Token`. `?token=` only where a browser API cannot set headers
 * (EventSource), when `allowQueryToken`.
 */
export async function principalOf(reg: RegistryState, c: Context, allowQueryToken = false): Promise<Principal | undefined> {
  const authz = c.req.header('authorization');
  if (authz) {
    const m = /^Bearer\s+(\S+)$/i.exec(authz);
    if (!m) throw unauthorized('Authorization must be "Bearer <token>"');
    const p = await reg.auth.jwt(m[1]!);
    if (!p) throw unauthorized('token is invalid, expired or revoked');
    return p;
  }
  const key = c.req.header('x-api-key');
  if (key) {
    const p = await reg.auth.apiKey(key);
    if (!p) throw unauthorized('API key is not valid');
    return p;
  }
  const device = c.req.header('x-device-token');
  if (device) {
    const p = await reg.auth.deviceToken(device);
    if (!p) throw unauthorized('device token is not valid');
    return p;
  }
  if (allowQueryToken) {
    const q = c.req.query('token');
    if (q) {
      const p = await reg.auth.jwt(q);
      if (!p) throw unauthorized('token is invalid, expired or revoked');
      return p;
    }
  }
  return undefined;
}

export function requireAuth(reg: RegistryState, opts: { allowQueryToken?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = await principalOf(reg, c, opts.allowQueryToken);
    if (!p) throw unauthorized();
    c.set('principal', p);
    await next();
  };
}

export function requireAdmin(reg: RegistryState): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = await principalOf(reg, c);
    if (!p) throw unauthorized();
    if (p.role !== 'admin') throw forbidden('this needs the admin role');
    c.set('principal', p);
    await next();
  };
}
