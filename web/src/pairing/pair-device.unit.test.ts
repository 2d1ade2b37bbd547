// The device side of pairing as a state machine, against a registry double that issues real
// certificates with a real CA key (e2e/trust/pairing-browser.test.ts runs it against the real registry).
import test from 'node:test';
import assert from 'node:assert/strict';
import { pairDevice, pairingErrorText, type PairDeviceOptions } from './pair-device.ts';
import { RegistryError } from '../../../mesh/registry-client.ts';
import {
  KnownPeers,
  MemoryKeyStore,
  MemoryTrustRecords,
  createRegistryCa,
  issueDeviceCertificate,
  readCertificateUnverified,
  type RegistryCa,
} from '../../../mesh/identity/index.ts';
import type { PairRequest, PairingStatusResponse } from '../../../mesh/protocol/index.ts';

type Answer = (req: PairRequest, ca: RegistryCa) => Promise<PairingStatusResponse | Error> | PairingStatusResponse | Error;

/** A registry double: `answers` are the successive pairing-status answers. */
async function registry(answers: Answer[]) {
  const { ca } = await createRegistryCa();
  let request: PairRequest | undefined;
  let polls = 0;
  const client: PairDeviceOptions['client'] = {
    registryCa: async () => ({ kid: ca.kid, public_key_jwk: ca.publicJwk }),
    pair: async (req) => {
      request = req;
      return { id: 'p1', status: 'pending_approval', peer_id: 'phone-1', claim_secret: 's' };
    },
    pairingStatus: async () => {
      const next = answers[Math.min(polls++, answers.length - 1)]!;
      const a = await next(request!, ca);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { ca, client, polls: () => polls, request: () => request };
}

const pending: Answer = () => ({ id: 'p1', status: 'pending_approval', peer_id: 'phone-1' });
const approved: Answer = async (req, ca) => ({
  id: 'p1',
  status: 'approved',
  peer_id: 'phone-1',
  device_token: 'tok',
  certificate: await issueDeviceCertificate(ca, { peer_id: 'phone-1', public_key_jwk: req.public_key!, role: 'agent', expires_at: Date.now() + 3600_000 }),
  registry_ca: { kid: ca.kid, public_key_jwk: ca.publicJwk },
});

function options(client: PairDeviceOptions['client'], extra: Partial<PairDeviceOptions> = {}) {
  return {
    code: '123456',
    name: 'Phone',
    client,
    keyStore: new MemoryKeyStore(),
    known: new KnownPeers(new MemoryTrustRecords()),
    onWaiting: () => {},
    signal: new AbortController().signal,
    pollMs: 1,
    ...extra,
  } satisfies PairDeviceOptions;
}

test('approval: the device sends its public key, waits, verifies and stores its certificate and pins the CA', async () => {
  const reg = await registry([pending, pending, approved]);
  const waiting: string[] = [];
  const o = options(reg.client, { onWaiting: (p) => waiting.push(p) });
  const out = await pairDevice(o);
  assert.deepEqual(out, { kind: 'approved', peerId: 'phone-1', deviceToken: 'tok' });
  assert.deepEqual(waiting, ['phone-1']);
  assert.equal(reg.polls(), 3);
  assert.equal(reg.request()!.agent_name, 'Phone');
  assert.equal(readCertificateUnverified((await o.keyStore.loadCertificate())!)?.peer_id, 'phone-1');
  assert.equal((await o.known.pinnedCa())?.x, reg.ca.publicJwk.x);
});

test('a registry that was away for a moment (5xx, 429) is waited for; a 4xx refusal ends pairing with its message', async () => {
  const busy = await registry([() => new RegistryError(503, 'unavailable', 'down'), () => new RegistryError(429, 'rate_limited', 'slow'), approved]);
  assert.equal((await pairDevice(options(busy.client))).kind, 'approved');
  const gone = await registry([() => new RegistryError(404, 'not_found', 'pairing request not found')]);
  await assert.rejects(pairDevice(options(gone.client)), /pairing request not found/);
});

test('a rejected request and a token already collected are refusals the page can show', async () => {
  const rejected = await registry([() => ({ id: 'p1', status: 'rejected', peer_id: 'phone-1' })]);
  assert.deepEqual(await pairDevice(options(rejected.client)), { kind: 'refused', text: 'The request was rejected.' });
  const collected = await registry([() => ({ id: 'p1', status: 'approved', peer_id: 'phone-1' })]);
  const out = await pairDevice(options(collected.client));
  assert.equal(out.kind, 'refused');
  assert.match(out.kind === 'refused' ? out.text : '', /already collected/);
});

test('a different pinned CA stops before the code is used up', async () => {
  const reg = await registry([approved]);
  const known = new KnownPeers(new MemoryTrustRecords());
  await known.pinCa((await createRegistryCa()).ca.publicJwk);
  assert.deepEqual(await pairDevice(options(reg.client, { known })), { kind: 'ca_conflict' });
  assert.equal(reg.request(), undefined, 'the code was not redeemed');
});

test('a certificate for another key is refused, not stored', async () => {
  const reg = await registry([
    async (_req, ca) => {
      const stranger = (await createRegistryCa()).ca.publicJwk; // a public key that is not this device's
      return {
        id: 'p1',
        status: 'approved',
        peer_id: 'phone-1',
        device_token: 'tok',
        certificate: await issueDeviceCertificate(ca, { peer_id: 'phone-1', public_key_jwk: stranger, role: 'agent', expires_at: Date.now() + 3600_000 }),
        registry_ca: { kid: ca.kid, public_key_jwk: ca.publicJwk },
      };
    },
  ]);
  const o = options(reg.client);
  await assert.rejects(pairDevice(o), /certificate does not fit this device/);
  assert.equal(await o.keyStore.loadCertificate(), undefined);
});

test('leaving the page stops the polling', async () => {
  const reg = await registry([pending]);
  const ctl = new AbortController();
  const run = pairDevice(options(reg.client, { signal: ctl.signal, pollMs: 20, onWaiting: () => setTimeout(() => ctl.abort(), 50) }));
  assert.deepEqual(await run, { kind: 'aborted' });
  const polls = reg.polls();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(reg.polls(), polls, 'no poll after the abort');
});

test('error texts: 429 says to wait, others keep their message', () => {
  assert.match(pairingErrorText(new RegistryError(429, 'rate_limited', 'x')), /Wait a minute/);
  assert.equal(pairingErrorText(new Error('code expired')), 'code expired');
});
