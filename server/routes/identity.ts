import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { CertificateResponse } from '../../mesh/protocol/index.ts';
import { jwkThumbprint } from '../../mesh/identity/keys.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { clientIp, readJson } from '../http/body.ts';
import { badRequest, tooMany } from '../http/errors.ts';
import { requireAuth } from '../http/auth.ts';

/**
 * Device certificates for peers that join with an API key (sidecars, admin tabs): the caller's
 * credential is the proof, so it gets a certificate for ITS OWN peer id only. A changed key is
 * a re-issue, recorded in the audit log; peers accept it because the issue time is later.
 */
export function identityRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get(ROUTES.registryCa.path, (c) => c.json(reg.ca.info()));
  app.post(ROUTES.requestCertificate.path, requireAuth(reg), async (c) => {
    const p = c.get('principal');
    if (!reg.limits.token.take(clientIp(c))) throw tooMany();
    const body = await readJson(c, ROUTES.requestCertificate.body);
    const keyId = await jwkThumbprint(body.public_key_jwk);
    let certificate: string;
    try {
      certificate = await reg.ca.issue(p.peerId, p.role, body.public_key_jwk);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const previous = await reg.identities.get(p.peerId);
    await reg.identities.put({ peer_id: p.peerId, key_id: keyId, public_key: body.public_key_jwk, certificate, issued_at: now() });
    if (!previous || previous.key_id !== keyId) {
      await reg.record(p.peerId, previous ? 'identity.rekey' : 'identity.issue', p.peerId, { key_id: keyId, previous_key_id: previous?.key_id ?? null });
    }
    return c.json({ peer_id: p.peerId, certificate, registry_ca: reg.ca.info() } satisfies CertificateResponse);
  });
  return app;
}
