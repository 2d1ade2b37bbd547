import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { requireAdmin } from '../http/auth.ts';
import { badRequest } from '../http/errors.ts';

/** GET /api/audit (admin): newest first; `?limit=` (≤ 1000) and `?before=<id>` page back. */
export function auditRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get(ROUTES.audit.path, requireAdmin(reg), async (c) => {
    const limit = Math.min(1000, Math.max(1, Math.floor(Number(c.req.query('limit') ?? 200)) || 200));
    const rawBefore = c.req.query('before');
    const before = rawBefore === undefined ? undefined : Number(rawBefore);
    if (before !== undefined && !(Number.isSafeInteger(before) && before > 0)) throw badRequest('before must be a positive whole number (an audit entry id)');
    return c.json(await reg.audit.list(limit, before));
  });
  return app;
}
