import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { LIMITS, type HealthzResponse } from '../mesh/protocol/index.ts';
import type { AppEnv } from './http/context.ts';
import type { RegistryState } from './state.ts';
import { ApiError, RevokedError, errorBody, revokedBody } from './http/errors.ts';
import { log } from './log.ts';
import { tokenRoutes } from './routes/token.ts';
import { keyRoutes } from './routes/keys.ts';
import { agentRoutes } from './routes/agents.ts';
import { hubRoutes } from './routes/hub.ts';
import { iceRoutes } from './routes/ice.ts';
import { a2aRoutes } from './routes/a2a.ts';
import { eventRoutes } from './routes/events.ts';
import { staticRoutes } from './routes/static.ts';
import { signalingRoutes } from './signaling/route.ts';
import { pairingRoutes } from './routes/pairing.ts';
import { auditRoutes } from './routes/audit.ts';
import { identityRoutes } from './routes/identity.ts';
import { policyRoutes } from './routes/policy.ts';
import { mcpRoutes } from './routes/mcp.ts';
import { VERSION } from './version.ts';

export { VERSION } from './version.ts';

/** Beyond this a declared-oversize body is not even drained: the connection is cut. */
const DRAIN_MAX = 16 * 1024 * 1024;

/**
 * A body declared larger than the limit gets 413 — after reading and discarding it, because a
 * client still sending sees a reset instead of the answer when the server stops reading early.
 */
const drainOversize: MiddlewareHandler<AppEnv> = async (c, next) => {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (!(declared > LIMITS.restBodyBytes)) return next();
  const incoming = c.env?.incoming;
  if (incoming && declared <= DRAIN_MAX) {
    await new Promise<void>((res) => {
      incoming.on('data', () => undefined);
      incoming.once('end', res);
      incoming.once('error', () => res());
      incoming.once('close', () => res());
    });
  }
  c.header('Connection', 'close');
  return c.json(errorBody('too_large', `body exceeds ${LIMITS.restBodyBytes} bytes`), 413);
};

/** The whole HTTP surface of the registry. */
export function buildApp(reg: RegistryState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.onError((err, c) => {
    if (err instanceof RevokedError) return c.json(revokedBody(err.message), 401);
    if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
    if (err instanceof HTTPException) return c.json(errorBody('bad_request', err.message || 'bad request'), err.status);
    log.error(`${c.req.method} ${c.req.path} failed`, err);
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));

  app.use('*', async (c, next) => {
    c.set('trustProxy', reg.cfg.trustProxy);
    await next();
    // Every answer: never content-sniffed, and no page address leaks to other sites.
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    c.res.headers.set('Referrer-Policy', 'no-referrer');
  });
  // Every route that takes a body: the REST API and the A2A and MCP doors.
  for (const path of ['/api/*', '/a2a/*', '/mcp']) {
    app.use(path, drainOversize);
    app.use(
      path,
      bodyLimit({
        maxSize: LIMITS.restBodyBytes,
        onError: (c) => c.json(errorBody('too_large', `body exceeds ${LIMITS.restBodyBytes} bytes`), 413),
      }),
    );
  }
  // API answers are never cached by browsers or service workers.
  app.use('/api/*', async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', version: VERSION, storage: reg.db.kind, uptime_s: Math.round((Date.now() - reg.startedAt) / 1000) } satisfies HealthzResponse),
  );

  app.route('/', tokenRoutes(reg));
  app.route('/', keyRoutes(reg));
  app.route('/', a2aRoutes(reg)); // before agentRoutes: /agents/:id/card must not be taken for /agents/:id
  app.route('/', agentRoutes(reg));
  app.route('/', hubRoutes(reg));
  app.route('/', iceRoutes(reg));
  app.route('/', eventRoutes(reg));
  app.route('/', pairingRoutes(reg));
  app.route('/', auditRoutes(reg));
  app.route('/', identityRoutes(reg));
  app.route('/', policyRoutes(reg));
  app.route('/', mcpRoutes(reg));
  app.route('/', signalingRoutes(reg));
  app.route('/', staticRoutes(reg.cfg.webDistDir));
  return app;
}
