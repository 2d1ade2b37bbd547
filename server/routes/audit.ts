import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { requireAdmin } from '../http/auth.ts';

/** GET /api/audit (admin): newest first; `?limit=` (≤ 1000) and `?before=<id>` page back. */
export function auditRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get(ROUTES.audit.path, requireAdmin(reg), async (c) => {
    const limit = Math.min(1000, Math.max(1, Math.floor(Number(c.req.query('limit') ?? 200)) || 200));
    const before = Math.floor(Number(c.req.query('before') ?? 0)) || undefined;
    return c.json(await reg.audit.list(limit, before && before > 0 ? before : undefined));
  });
  return app;
}
