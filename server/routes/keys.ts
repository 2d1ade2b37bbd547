import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import { Id, type ApiKeyCreated, type ApiKeyInfo } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { readJson } from '../http/body.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { requireAdmin } from '../http/auth.ts';
import { hashSecret, newSecret } from '../auth/secrets.ts';
import { ADMIN_PEER_ID } from '../auth/authenticator.ts';
import { revokePeer } from '../revocation.ts';

/** At start: a deleted key's JWTs stay refused, across restarts and whatever TOKEN_TTL_S is now. */
export async function loadTokenCutoffs(reg: RegistryState): Promise<void> {
  for (const c of await reg.keys.tokenCutoffs()) reg.auth.invalidateTokens(c.peer_id, c.at);
}

/** Admin management of API keys: create (the secret is shown once), list (no secrets), delete by peer id. */
export function keyRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.use('/api/keys', requireAdmin(reg));
  app.use('/api/keys/*', requireAdmin(reg));

  app.post(ROUTES.createKey.path, async (c) => {
    const body = await readJson(c, ROUTES.createKey.body);
    if (body.peer_id === ADMIN_PEER_ID) throw conflict('peer id "admin" is reserved for the admin key');
    const key = newSecret('ak_');
    await reg.keys.add(hashSecret(key), body.peer_id, body.role, now());
    await reg.record(c.get('principal').peerId, 'key.create', body.peer_id, { role: body.role });
    return c.json({ key, peer_id: body.peer_id, role: body.role } satisfies ApiKeyCreated, 201);
  });

  app.get(ROUTES.listKeys.path, async (c) => {
    const list: ApiKeyInfo[] = [
      { peer_id: ADMIN_PEER_ID, role: 'admin', source: reg.adminKeySource, created_at: null },
      ...reg.auth.staticKeyList().map((k) => ({ ...k, source: 'keys_file' as const, created_at: null })),
      ...(await reg.keys.list()).map((k) => ({
        peer_id: k.peer_id,
        role: k.role,
        source: 'api' as const,
        created_at: new Date(k.created_at * 1000).toISOString(),
      })),
    ];
    return c.json(list);
  });

  app.delete(ROUTES.deleteKey.path, async (c) => {
    const peerId = c.req.param('peer_id');
    if (!Id.safeParse(peerId).success) throw badRequest('peer_id is not a valid id');
    const at = Math.floor(Date.now() / 1000);
    const n = await reg.keys.deleteByPeer(peerId, at);
    if (n === 0) throw notFound(`API key for ${peerId}`);
    const gone = await revokePeer(reg, { peer: peerId, how: 'key', at });
    await reg.record(c.get('principal').peerId, 'key.delete', peerId, { count: n, ...gone });
    return c.json({ status: 'ok', deleted: n });
  });
  return app;
}
