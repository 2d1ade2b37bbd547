import { z } from 'zod';
import { LIMITS } from './limits.ts';

/** Peer ids, agent ids and skill names: short, printable, no spaces or markup. */
export const Id = z.string().min(1).max(LIMITS.idChars).regex(/^[\w.:@-]+$/, 'only letters, digits and . _ : @ - are allowed');
export const RequestId = z.string().max(LIMITS.idChars);
export const JsonObject = z.record(z.string(), z.unknown());
