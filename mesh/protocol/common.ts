import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** Peer ids, agent ids and skill names: short, printable, no spaces or markup. */
export const Id = z
  .string()
  .min(1)
  .max(LIMITS.idChars)
  .regex(/^[\w.:@-]+$/, 'only letters, digits and . _ : @ - are allowed');
/**
 * Agent ids belong to peers (docs/trust.md): `name@peer` is agent `name` on peer `peer`, and a
 * peer's own record has the peer id itself. An id without `@` is read as a peer id.
 */
export function agentPeer(agentId: string): string {
  const at = agentId.lastIndexOf('@');
  return at < 0 ? agentId : agentId.slice(at + 1);
}

export const RequestId = z.string().max(LIMITS.idChars);
export const JsonObject = z.record(z.string(), z.unknown());
