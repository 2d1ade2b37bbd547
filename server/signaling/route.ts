import { Hono } from 'hono';
import { upgradeWebSocket } from '@hono/node-server';
import type { WebSocket } from 'ws';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import type { Principal } from '../auth/tokens.ts';
import type { SignalConn } from './hub.ts';
import { RevokedError } from '../http/errors.ts';

export const JWT_SUBPROTOCOL = 'chatixia-jwt';

/** The token a client offered with the upgrade: `Sec-WebSocket-Protocol: chatixia-jwt, <jwt>` or `?token=`. */
export function upgradeToken(protocolHeader: string | undefined, queryToken: string | undefined): string | undefined {
  if (protocolHeader) {
    const parts = protocolHeader.split(',').map((s) => s.trim());
    if (parts.includes(JWT_SUBPROTOCOL)) return parts.find((p) => p !== JWT_SUBPROTOCOL && p.length > 0);
  }
  return queryToken || undefined;
}

/**
 * GET /ws. A token that fails still gets the upgrade, then an error frame and close 4003,
 * so a client can tell "refused" (do not retry blindly) from a network failure; a registry with
 * too many sockets waiting to authenticate answers `busy` and 4008 (retry later).
 */
export function signalingRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get('/ws', async (c, next) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      return c.json({ error: { code: 'upgrade_required', message: 'connect with a WebSocket client' } }, 426);
    }
    const token = upgradeToken(c.req.header('sec-websocket-protocol'), c.req.query('token'));
    let principal: Principal | undefined;
    let refused = false;
    let revoked: string | undefined;
    if (token) {
      try {
        principal = await reg.auth.jwt(token);
      } catch (e) {
        if (!(e instanceof RevokedError)) throw e;
        revoked = e.message;
      }
      refused = !principal;
    }
    let conn: SignalConn | undefined;
    const handler = upgradeWebSocket(() => ({
      onOpen(_e, ws) {
        // Sockets that have not shown a token hold memory until their 10 s run out: bounded. Checked
        // here, in the same turn as accept() counts the socket, so concurrent upgrades cannot all
        // pass the check first. Past the bound the upgrade still completes, so the client reads why.
        const busy = !principal && reg.hub.waitingForAuth >= reg.cfg.maxUnauthenticatedSockets;
        conn = reg.hub.accept(ws.raw as WebSocket, principal);
        if (revoked) conn.revoked(revoked);
        else if (busy) conn.busy('too many connections are waiting to authenticate; retry in a few seconds, or send the token with the upgrade');
        else if (refused) conn.refuse('token is invalid, expired or revoked');
      },
      onMessage(e) {
        conn?.onMessage(e.data);
      },
      onClose() {
        conn?.onClose();
      },
      onError() {
        conn?.onClose();
      },
    }));
    return (await handler(c, next)) ?? c.body(null, 500);
  });
  return app;
}
