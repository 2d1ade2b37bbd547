import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { IceConfig, IceServer } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { requireAuth } from '../http/auth.ts';

/**
 * Ephemeral TURN credentials in the coturn REST scheme (use-auth-secret):
 * username = "<expiry epoch s>:<peer id>", credential = base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(secret: string, peerId: string, ttlS: number, nowS = Math.floor(Date.now() / 1000)) {
  const username = `${nowS + ttlS}:${peerId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** GET /api/config: ICE servers for the caller. */
export function iceRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get(ROUTES.config.path, requireAuth(reg), (c) => {
    const cfg = reg.cfg;
    const iceServers: IceServer[] = [];
    if (cfg.stunUrls.length) iceServers.push({ urls: cfg.stunUrls });
    if (cfg.turnUrl && cfg.turnSecret) {
      const urls = cfg.turnUrl
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      iceServers.push({ urls, ...turnCredentials(cfg.turnSecret, c.get('principal').peerId, cfg.turnTtlS) });
    }
    const body: IceConfig = {
      iceServers,
      ...(cfg.iceTransportPolicy ? { iceTransportPolicy: cfg.iceTransportPolicy } : {}),
      registry_ca: reg.ca.info(),
      skill_policy: reg.skillPolicy,
    };
    return c.json(body);
  });
  return app;
}
