import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { TokenResponse } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { clientIp, readJson } from '../http/body.ts';
import { conflict, forbidden, tooMany, unauthorized } from '../http/errors.ts';
import { ADMIN_PEER_ID } from '../auth/authenticator.ts';

/** POST /api/token: an API key (X-API-Key) or a device token (X-Device-Token or body) → a short-lived JWT. */
export function tokenRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.post(ROUTES.token.path, async (c) => {
    if (!reg.limits.token.take(clientIp(c))) throw tooMany();
    const body = await readJson(c, ROUTES.token.body, true);
    const key = c.req.header('x-api-key');
    const device = c.req.header('x-device-token') ?? body.device_token;
    const p = key ? await reg.auth.apiKey(key) : device ? await reg.auth.deviceToken(device) : undefined;
    if (!p) throw unauthorized(key || device ? 'API key or device token is not valid' : 'send X-API-Key or X-Device-Token');
    let peerId = p.peerId;
    if (body.peer_id && body.peer_id !== p.peerId) {
      if (p.role !== 'admin') throw forbidden('an agent key is bound to its own peer id');
      // An admin browser picks its own peer id, but may not take over another key's or device's identity.
      if (
        body.peer_id !== ADMIN_PEER_ID &&
        (reg.auth.staticPeerIds().has(body.peer_id) || (await reg.keys.hasPeer(body.peer_id)) || (await reg.isDevicePeer(body.peer_id)))
      ) {
        throw conflict(`peer id ${body.peer_id} belongs to another key or device`);
      }
      peerId = body.peer_id;
    }
    const token = await reg.auth.signer.sign({ peerId, role: p.role });
    return c.json({ token, peer_id: peerId, role: p.role, expires_in: reg.auth.signer.ttlS } satisfies TokenResponse);
  });
  return app;
}
