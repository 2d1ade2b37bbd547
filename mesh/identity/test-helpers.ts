// Fixtures for the identity tests (not part of the module's API).
import { createRegistryCa, issueDeviceCertificate, type RegistryCa } from './certificate.ts';
import { MemoryKeyStore, loadOrCreateIdentity, type DeviceIdentity } from './keys.ts';

export const DAY = 24 * 3600_000;

export interface TestDevice {
  peerId: string;
  identity: DeviceIdentity;
  certificate: string;
}

export async function newCa(): Promise<RegistryCa> {
  return (await createRegistryCa()).ca;
}

export async function newDevice(ca: RegistryCa, peerId: string, opts: { issued_at?: number; expires_at?: number; role?: string } = {}): Promise<TestDevice> {
  const identity = await loadOrCreateIdentity(new MemoryKeyStore());
  const certificate = await issueDeviceCertificate(ca, {
    peer_id: peerId,
    public_key_jwk: identity.publicJwk,
    role: opts.role ?? 'agent',
    expires_at: opts.expires_at ?? Date.now() + DAY,
    ...(opts.issued_at === undefined ? {} : { issued_at: opts.issued_at }),
  });
  return { peerId, identity, certificate };
}

/** A random DTLS certificate fingerprint in SDP notation. */
export function randomFingerprint(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** A minimal data-channel SDP carrying one sha-256 fingerprint. */
export function sdpWith(fingerprint: string): string {
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    'a=sctp-port:5000',
    '',
  ].join('\r\n');
}
