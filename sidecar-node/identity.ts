import { join } from 'node:path';
import type { RegistryClient } from '../mesh/registry-client.ts';
import type { Logger } from '../mesh/types.ts';
import { MemoryKeyStore, MemoryTrustRecords } from '../mesh/identity/index.ts';
import { describeCertificate, joinWithIdentity, type JoinedIdentity } from '../mesh/identity/join.ts';
import { FileKeyStore, FileTrustRecords } from './identity-store.ts';
import { KEY_FILE, TRUST_FILE } from './device-file.ts';

/**
 * The sidecar's identity for link proofs. With a data dir (paired, or --data-dir) the key, its
 * certificate and the known peers persist in 0600 files; without one (an API-key sidecar) the key
 * lives only as long as the process and a fresh certificate is requested at each start — peers
 * accept the new key because the registry issued it later (docs/trust.md, TOFU).
 */
export async function sidecarIdentity(
  cfg: { identityDir?: string | undefined; legacyPeers: string[] },
  registry: RegistryClient,
  peerId: string,
  log: Logger,
): Promise<JoinedIdentity> {
  const dir = cfg.identityDir;
  const joined = await joinWithIdentity({
    registry,
    peerId,
    keyStore: dir ? new FileKeyStore(join(dir, KEY_FILE)) : new MemoryKeyStore(),
    records: dir ? new FileTrustRecords(join(dir, TRUST_FILE)) : new MemoryTrustRecords(),
    legacyPeers: cfg.legacyPeers,
  });
  const legacy = cfg.legacyPeers.length ? ` (except legacy peers ${cfg.legacyPeers.join(', ')})` : '';
  log.info(
    `[identity] ${joined.issued ? 'certificate issued' : 'certificate loaded'}: ${describeCertificate(joined.certificate)}${dir ? ` (${dir})` : ' (key in memory)'}; every link must prove its identity${legacy}`,
  );
  return joined;
}
