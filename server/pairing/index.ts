import { hashSecret } from '../auth/secrets.ts';
import type { RegistryState } from '../state.ts';
import { CertificateAuthority } from './ca.ts';

/** Wires pairing into auth at start: device tokens become principals, revoked peers stay refused. */
export async function startPairing(reg: RegistryState): Promise<void> {
  reg.ca = await CertificateAuthority.open(reg.cfg.dataDir, reg.db);
  reg.auth.setRevoked(await reg.pairing.revokedPeers());
  reg.auth.devices = {
    async lookupDeviceToken(token: string) {
      if (!token.startsWith('dt_')) return undefined;
      const found = await reg.pairing.peerByDeviceToken(hashSecret(token));
      return found && { peerId: found.peer_id, role: 'agent' as const, revoked: found.status === 'revoked' };
    },
  };
}
