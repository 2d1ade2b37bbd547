import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** Where they came from, for the start message. */
  certPath: string;
  selfSigned: boolean;
}

/** Names a phone on the LAN may use to reach this machine. */
function localNames(): { dns: string[]; ips: string[] } {
  const ips = ['127.0.0.1', '::1'];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal) ips.push(a.address.split('%')[0]!);
  const host = hostname();
  return { dns: [...new Set(['localhost', host, `${host}.local`])], ips: [...new Set(ips)] };
}

/**
 * TLS for a first try on the LAN (TLS_SELF_SIGNED=1): a self-signed certificate for localhost,
 * this host's name and its LAN addresses, kept in the data dir (key 0600) and reused. Phones must
 * trust it once (see docs/registry.md); for real use put a proper certificate in TLS_CERT/TLS_KEY
 * or run behind a reverse proxy or tunnel.
 */
export async function selfSignedTls(dataDir: string): Promise<TlsFiles> {
  const certPath = join(dataDir, 'tls-cert.pem');
  const keyPath = join(dataDir, 'tls-key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    let generate: typeof import('selfsigned').generate;
    try {
      ({ generate } = await import('selfsigned'));
    } catch {
      throw new Error('TLS_SELF_SIGNED needs the npm package "selfsigned" (npm install)');
    }
    const names = localNames();
    const pems = await generate([{ name: 'commonName', value: 'chatixia-mesh registry' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 397 * 24 * 3600 * 1000), // browsers refuse longer server certs
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))],
        },
      ],
    });
    writeFileSync(keyPath, pems.private, { mode: 0o600 });
    writeFileSync(certPath, pems.cert, { mode: 0o644 });
  }
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, selfSigned: true };
}

export function fingerprint(cert: Buffer): string {
  return new X509Certificate(cert).fingerprint256;
}
