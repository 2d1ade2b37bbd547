import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where a paired sidecar keeps its identity (docs/pairing.md): `device-key.json` (the private
 * key), `device-key.json.cert` (its certificate), `known-peers.json` (pinned CA + TOFU records)
 * and `device.json` (the device token from pairing) — all mode 0600 in a 0700 directory.
 */
export const DEVICE_FILE = 'device.json';
export const KEY_FILE = 'device-key.json';
export const TRUST_FILE = 'known-peers.json';

export interface DeviceFile {
  type: 'chatixia-device';
  version: 1;
  peer_id: string;
  device_token: string;
  registry_url: string;
  paired_at: string;
}

/** `$SIDECAR_DATA_DIR`, else `$XDG_STATE_HOME/chatixia-sidecar`, else `~/.local/state/chatixia-sidecar`. */
export function defaultDataDir(env: Record<string, string | undefined>): string {
  if (env.SIDECAR_DATA_DIR) return env.SIDECAR_DATA_DIR;
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'chatixia-sidecar');
}

/** The device file of a paired sidecar, or undefined when it was never paired. Throws on a readable-by-others file. */
export function readDeviceFile(dataDir: string): DeviceFile | undefined {
  const path = join(dataDir, DEVICE_FILE);
  if (!existsSync(path)) return undefined;
  const st = statSync(path);
  if (st.mode & 0o077) {
    throw new Error(`${path} has mode ${(st.mode & 0o777).toString(8)}; it holds the device token. Fix: chmod 600 ${path}`);
  }
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Partial<DeviceFile>;
  if (doc.type !== 'chatixia-device' || doc.version !== 1 || typeof doc.device_token !== 'string' || typeof doc.peer_id !== 'string') {
    throw new Error(`${path} is not a chatixia device file; pair again (chatixia-sidecar pair <code>)`);
  }
  return doc as DeviceFile;
}
