/**
 * The device side of pairing, without React: creates this browser's identity key first (it never
 * leaves the device), redeems the code with its public key, waits for the admin, then collects
 * the device token with the one-time claim secret, verifies and stores its certificate and pins
 * the registry CA. The stores and the client are injected, so the same steps run in a unit test.
 */
import { RegistryError, type RegistryClient } from '../../../mesh/registry-client.ts';
import {
  jwkThumbprint,
  loadOrCreateIdentity,
  verifyOwnCertificate,
  type CertificateStore,
  type IdentityKeyStore,
  type KnownPeers,
} from '../../../mesh/identity/index.ts';
import { sleep } from '../../../mesh/backoff.ts';

export interface PairDeviceOptions {
  code: string;
  name: string;
  client: Pick<RegistryClient, 'registryCa' | 'pair' | 'pairingStatus'>;
  keyStore: IdentityKeyStore & CertificateStore;
  known: KnownPeers;
  /** Told once the code was accepted and the admin's approval is awaited. */
  onWaiting: (peerId: string) => void;
  signal: AbortSignal;
  pollMs?: number;
}

export type PairOutcome =
  /** Approved: sign in with `deviceToken`. */
  | { kind: 'approved'; peerId: string; deviceToken: string }
  /** This browser pinned another registry CA before: pairing here needs a deliberate reset. */
  | { kind: 'ca_conflict' }
  | { kind: 'refused'; text: string }
  | { kind: 'aborted' };

const POLL_MS = 1500;

export async function pairDevice(o: PairDeviceOptions): Promise<PairOutcome> {
  const identity = await loadOrCreateIdentity(o.keyStore);
  // Checked before the code is used up: a different CA is a reinstalled registry or an impostor.
  const [pinned, offered] = await Promise.all([o.known.pinnedCa(), o.client.registryCa()]);
  if (pinned && (await jwkThumbprint(pinned)) !== (await jwkThumbprint(offered.public_key_jwk))) return { kind: 'ca_conflict' };
  const req = await o.client.pair({ code: o.code, agent_name: o.name, public_key: identity.publicJwk });
  o.onWaiting(req.peer_id);
  for (;;) {
    try {
      await sleep(o.pollMs ?? POLL_MS, o.signal);
    } catch {
      return { kind: 'aborted' };
    }
    const st = await o.client.pairingStatus(req.id, req.claim_secret).catch((err: unknown) => {
      if (err instanceof RegistryError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
      return undefined; // the registry is briefly away: keep waiting
    });
    if (!st || st.status === 'pending_approval') continue;
    if (st.status !== 'approved') return { kind: 'refused', text: `The request was ${st.status}.` };
    if (!st.device_token) return { kind: 'refused', text: 'Approved, but the token was already collected. Ask for a new code.' };
    if (st.certificate && st.registry_ca) {
      const own = await verifyOwnCertificate(st.registry_ca.public_key_jwk, st.certificate, { keyId: identity.keyId, peerId: st.peer_id });
      if (!own.ok) throw new Error(`the registry's certificate does not fit this device: ${own.message}`);
      const pin = await o.known.pinCa(st.registry_ca.public_key_jwk);
      if (!pin.ok) throw new Error(pin.message);
      await o.keyStore.saveCertificate(st.certificate);
    }
    return { kind: 'approved', peerId: st.peer_id, deviceToken: st.device_token };
  }
}

/** What the pairing page says about an error `pairDevice` threw. */
export function pairingErrorText(err: unknown): string {
  if (err instanceof RegistryError && err.status === 429) return 'Too many attempts from this device. Wait a minute.';
  return err instanceof Error ? err.message : String(err);
}
