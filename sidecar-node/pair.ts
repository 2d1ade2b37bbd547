/**
 * `chatixia-sidecar pair <code>`: redeems a 6-digit pairing code with this device's public key,
 * waits (showing progress) until an admin approves or rejects it in the dashboard, then stores
 * the device token and certificate in the data dir (0600 files) and pins the registry CA.
 * A later `chatixia-sidecar` without API_KEY/DEVICE_TOKEN starts with them.
 */
import { chmod, mkdir, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RegistryClient, RegistryError } from '../mesh/registry-client.ts';
import { KnownPeers, loadOrCreateIdentity, verifyOwnCertificate } from '../mesh/identity/index.ts';
import { sleep } from '../mesh/backoff.ts';
import { FileKeyStore, FileTrustRecords, writeTemp } from './identity-store.ts';
import { DEVICE_FILE, KEY_FILE, TRUST_FILE, defaultDataDir, readDeviceFile, type DeviceFile } from './device-file.ts';

const USAGE = `Usage: chatixia-sidecar pair <6-digit code> [--registry-url URL] [--data-dir DIR] [--name NAME] [--timeout-s N] [--force]
  Pairs this machine with the registry: the admin creates the code in the dashboard ("Add a device")
  and approves the request there. REGISTRY_URL, SIDECAR_DATA_DIR work as environment variables too.`;

export async function pairMain(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  out = process.stdout,
  err = process.stderr,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        'registry-url': { type: 'string' },
        'data-dir': { type: 'string' },
        name: { type: 'string' },
        'timeout-s': { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    err.write(`chatixia-sidecar pair: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(USAGE + '\n');
    return 0;
  }
  const code = positionals[0] ?? '';
  if (!/^\d{6}$/.test(code) || positionals.length !== 1) {
    err.write(`chatixia-sidecar pair: give the 6-digit code shown in the dashboard\n${USAGE}\n`);
    return 2;
  }
  const registryUrl = String(values['registry-url'] ?? env.REGISTRY_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
  const dataDir = String(values['data-dir'] ?? defaultDataDir(env));
  const name = String(values.name ?? env.SIDECAR_HOSTNAME ?? hostname()).slice(0, 128);
  const timeoutMs = Number(values['timeout-s'] ?? 900) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    err.write('chatixia-sidecar pair: --timeout-s must be a positive number\n');
    return 2;
  }
  try {
    new URL(registryUrl);
  } catch {
    err.write(`chatixia-sidecar pair: not a valid registry URL: ${registryUrl}\n`);
    return 2;
  }

  try {
    const existing = readDeviceFile(dataDir);
    if (existing && !values.force) {
      err.write(`chatixia-sidecar pair: ${join(dataDir, DEVICE_FILE)} already pairs this machine as ${existing.peer_id}; use --force to pair again\n`);
      return 1;
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chmod(dataDir, 0o700);
    const keyStore = new FileKeyStore(join(dataDir, KEY_FILE));
    const identity = await loadOrCreateIdentity(keyStore);
    out.write(`Device key ${identity.keyId.slice(0, 16)}… in ${join(dataDir, KEY_FILE)} (mode 0600)\n`);

    const client = new RegistryClient({ baseUrl: registryUrl });
    const req = await client.pair({ code, agent_name: name, public_key: identity.publicJwk });
    out.write(`Pairing request sent to ${registryUrl} as "${name}" (peer ${req.peer_id}).\n`);
    out.write('Waiting for approval: an admin approves it in the dashboard (Devices → Approve)');

    const started = Date.now();
    let dots = 0;
    for (;;) {
      const st = await client.pairingStatus(req.id, req.claim_secret).catch((e: unknown) => {
        // A registry restart or a brief network loss: keep waiting; a refusal is final.
        if (e instanceof RegistryError && e.status >= 400 && e.status < 500 && e.status !== 429) throw e;
        return undefined;
      });
      if (st?.status === 'rejected' || st?.status === 'revoked') {
        out.write('\n');
        err.write(`chatixia-sidecar pair: the request was ${st.status} by an admin\n`);
        return 1;
      }
      if (st?.status === 'approved') {
        out.write('\n');
        if (!st.device_token) {
          err.write('chatixia-sidecar pair: approved, but the device token was already collected (by another process?); pair again with a new code\n');
          return 1;
        }
        if (!st.certificate || !st.registry_ca) throw new Error('the registry approved the request but sent no certificate');
        const own = await verifyOwnCertificate(st.registry_ca.public_key_jwk, st.certificate, { keyId: identity.keyId, peerId: st.peer_id });
        if (!own.ok) throw new Error(`the certificate from the registry does not fit this device: ${own.message}`);
        const knownPeers = new KnownPeers(new FileTrustRecords(join(dataDir, TRUST_FILE)));
        if (values.force) await knownPeers.forgetCa();
        const pin = await knownPeers.pinCa(st.registry_ca.public_key_jwk);
        if (!pin.ok) throw new Error(pin.message);
        await keyStore.saveCertificate(st.certificate);
        const doc: DeviceFile = {
          type: 'chatixia-device',
          version: 1,
          peer_id: st.peer_id,
          device_token: st.device_token,
          registry_url: registryUrl,
          paired_at: new Date().toISOString(),
        };
        const deviceFile = join(dataDir, DEVICE_FILE);
        await rename(await writeTemp(deviceFile, JSON.stringify(doc, null, 2) + '\n'), deviceFile);
        out.write(`Approved. This machine is peer ${st.peer_id}; device token and certificate saved in ${dataDir} (mode 0600).\n`);
        out.write(`Start it with: chatixia-sidecar${values['data-dir'] ? ` --data-dir ${dataDir}` : ''}\n`);
        return 0;
      }
      if (Date.now() - started > timeoutMs) {
        out.write('\n');
        err.write('chatixia-sidecar pair: nobody approved the request in time; ask for a new code\n');
        return 1;
      }
      if (++dots % 5 === 0) out.write(` ${Math.round((Date.now() - started) / 1000)} s`);
      else out.write('.');
      await sleep(1500);
    }
  } catch (e) {
    out.write('\n');
    const msg = e instanceof RegistryError ? `${e.message}${e.status === 429 ? ' (too many attempts: wait a minute)' : ''}` : (e as Error).message;
    err.write(`chatixia-sidecar pair: ${msg}\n`);
    return 1;
  }
}
