import { Hono } from 'hono';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';

/** Pairing (issue 5): filled in phase 2. */
export function pairingRoutes(_reg: RegistryState) {
  return new Hono<AppEnv>();
}
