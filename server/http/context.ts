import type { HttpBindings } from '@hono/node-server';
import type { Principal } from '../auth/tokens.ts';

/** Hono environment of every route: Node bindings plus the authenticated caller. */
export type AppEnv = {
  Bindings: HttpBindings;
  Variables: { principal: Principal /** TRUST_PROXY hops (see clientIp). */; trustProxy: number };
};
