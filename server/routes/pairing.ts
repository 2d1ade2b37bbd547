import { randomBytes, randomInt } from 'node:crypto';
import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { PairingCode, PairingEntry, PairingStatus, PairingStatusResponse, PairResponse } from '../../mesh/protocol/index.ts';
import { jwkThumbprint } from '../../mesh/identity/keys.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { clientIp, readJson } from '../http/body.ts';
import { ApiError, conflict, forbidden, notFound, tooMany } from '../http/errors.ts';
import { principalOf, requireAdmin } from '../http/auth.ts';
import { hashSecret, newSecret } from '../auth/secrets.ts';
import { log } from '../log.ts';
import { revokePeer } from '../revocation.ts';

const ENTRY_ID = /^[0-9a-f]{8}$/;

/**
 * Pairing (docs/pairing.md): an admin makes a 6-digit single-use code; a device redeems it
 * (public, rate limited per client) and waits as a pending entry; the admin approves, rejects or
 * later revokes it; the device collects its device token once with its claim secret.
 */
export function pairingRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();

  const publish = (entry: PairingEntry) => reg.bus.publish({ type: 'pairing', data: entry });
  const entryId = (raw: string) => {
    if (!ENTRY_ID.test(raw)) throw notFound('pairing entry');
    return raw;
  };

  app.post(ROUTES.generatePairingCode.path, requireAdmin(reg), async (c) => {
    const t = now();
    const expiresAt = t + reg.cfg.pairingCodeTtlS;
    for (let attempt = 0; attempt < 20; attempt++) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      if (await reg.pairing.addCode(code, c.get('principal').peerId, t, expiresAt)) {
        await reg.record(c.get('principal').peerId, 'pairing.code', 'invite', { expires_at: expiresAt });
        return c.json({ code, expires_in: reg.cfg.pairingCodeTtlS, expires_at: expiresAt } satisfies PairingCode, 201);
      }
    }
    throw new ApiError(503, 'busy', 'too many live codes; try again');
  });

  app.post(ROUTES.pair.path, async (c) => {
    const ip = clientIp(c);
    // Every attempt counts, valid or not: 5 a minute per address; wrong ones also count against a
    // global budget per minute (many addresses cannot add up) and against every live code, which
    // dies after PAIRING_MAX_WRONG_ATTEMPTS of them.
    if (!reg.limits.pairing.take(`pair|${ip}`)) throw tooMany('too many pairing attempts, try again later');
    if (!reg.limits.pairingWrong.allows('global')) throw tooMany('too many wrong pairing codes were tried in the last minute; try again in a minute');
    const body = await readJson(c, ROUTES.pair.body);
    const t = now();
    const invitedBy = await reg.pairing.consumeCode(body.code, t);
    if (!invitedBy) {
      reg.limits.pairingWrong.take('global');
      const burned = await reg.pairing.wrongAttempt(t, reg.cfg.pairingMaxWrong);
      log.warn(
        `[PAIRING] invalid or expired code from ${ip}${burned ? `; ${burned} live code(s) reached ${reg.cfg.pairingMaxWrong} wrong attempts and died` : ''}`,
      );
      await reg.record(`device@${ip}`, 'pairing.failed', 'invite', { ip, agent_name: body.agent_name, codes_burned: burned });
      throw new ApiError(401, 'invalid_code', 'invalid or expired pairing code');
    }
    const claimSecret = newSecret('cs_');
    const keyId = body.public_key ? await jwkThumbprint(body.public_key) : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const stored = await reg.pairing.create(
          {
            id: randomBytes(4).toString('hex'),
            agent_name: body.agent_name,
            peer_id: `agent-${randomBytes(3).toString('hex')}`,
            claim_secret_hash: hashSecret(claimSecret),
            public_key: body.public_key,
            key_id: keyId,
            client_ip: ip,
          },
          t,
        );
        await reg.record(`device@${ip}`, 'pairing.request', stored.entry.peer_id, {
          id: stored.entry.id,
          agent_name: body.agent_name,
          invited_by: invitedBy,
          key_id: keyId ?? null,
        });
        publish(stored.entry);
        return c.json(
          { id: stored.entry.id, status: stored.entry.status, peer_id: stored.entry.peer_id, claim_secret: claimSecret } satisfies PairResponse,
          201,
        );
      } catch (e) {
        // A random id or peer id collided (unique constraint): draw again, a few times.
        if (attempt >= 5) throw e;
      }
    }
  });

  app.get(ROUTES.pendingPairings.path, requireAdmin(reg), async (c) => c.json(await reg.pairing.list('pending_approval')));
  app.get(ROUTES.allPairings.path, requireAdmin(reg), async (c) => c.json(await reg.pairing.list()));

  const move = (action: 'approve' | 'reject' | 'revoke', from: PairingStatus, to: PairingStatus) =>
    app.post(ROUTES[`${action}Pairing`].path, requireAdmin(reg), async (c) => {
      const id = entryId(c.req.param('id'));
      const current = await reg.pairing.get(id);
      if (!current) throw notFound('pairing entry');
      if (current.entry.status !== from) throw conflict(`entry is ${current.entry.status}; only a ${from} entry can be ${action}d`);
      let certificate: string | undefined;
      if (action === 'approve' && current.publicKey) {
        certificate = await reg.ca.issue(current.entry.peer_id, 'agent', current.publicKey);
        await reg.identities.put({
          peer_id: current.entry.peer_id,
          key_id: current.entry.key_id ?? '',
          public_key: current.publicKey,
          certificate,
          issued_at: now(),
        });
      }
      const moved = await reg.pairing.transition(id, from, to, now(), certificate);
      if (!moved) throw conflict('entry changed meanwhile; read it again');
      const gone = action === 'revoke' ? await revokePeer(reg, { peer: moved.entry.peer_id, how: 'pairing', at: Math.floor(Date.now() / 1000) }) : {};
      await reg.record(c.get('principal').peerId, `pairing.${action}`, moved.entry.peer_id, { id, agent_name: moved.entry.agent_name, ...gone });
      publish(moved.entry);
      return c.json(moved.entry);
    });
  move('approve', 'pending_approval', 'approved');
  move('reject', 'pending_approval', 'rejected');
  move('revoke', 'approved', 'revoked');

  app.get(ROUTES.pairingStatus.path, async (c) => {
    if (!reg.limits.pairingStatus.take(`status|${clientIp(c)}`)) throw tooMany();
    const id = entryId(c.req.param('id'));
    const stored = await reg.pairing.get(id);
    const secret = c.req.header('x-claim-secret');
    let isAdmin = false;
    if (!secret) {
      const p = await principalOf(reg, c).catch(() => undefined);
      isAdmin = p?.role === 'admin';
      if (!isAdmin) throw forbidden('send the claim secret from the pair answer in X-Claim-Secret');
    }
    if (!stored) throw notFound('pairing entry');
    if (!isAdmin && hashSecret(secret!) !== stored.claimSecretHash) throw forbidden('wrong claim secret');
    const body: PairingStatusResponse = { id, status: stored.entry.status, peer_id: stored.entry.peer_id };
    if (stored.entry.status === 'approved') {
      if (stored.certificate) {
        body.certificate = stored.certificate;
        body.registry_ca = reg.ca.info();
      }
      if (!isAdmin && !stored.entry.token_claimed) {
        // The token exists only from this moment, and only its hash is stored.
        const deviceToken = newSecret('dt_');
        const claimed = await reg.pairing.claimToken(id, hashSecret(deviceToken), now());
        if (claimed) {
          body.device_token = deviceToken;
          await reg.record(`device@${clientIp(c)}`, 'pairing.claim', stored.entry.peer_id, { id });
          publish(claimed.entry);
        }
      }
    }
    return c.json(body);
  });
  return app;
}
