import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { PublicKeyJwkSchema, type PublicKeyJwk } from '../mesh/protocol/index.ts';
import {
  exportPrivateJwk,
  generateKeyPair,
  importPrivateJwk,
  importPublicJwk,
  type CertificateStore,
  type IdentityKeyStore,
  type KnownPeerRecord,
  type TrustRecords,
} from '../mesh/identity/index.ts';

/**
 * The sidecar's identity on disk: the device key and the trust records live in files of mode
 * 0600. A key file that others can read is refused (not silently fixed): someone may already
 * have copied it, and the operator should know.
 */

const KEY_FILE_TYPE = 'chatixia-device-key';

/** Throws a readable error unless `path` is a regular file owned by us and readable by us only. */
export async function assertOwnerOnlyFile(path: string): Promise<void> {
  const st = await stat(path);
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`${path} is owned by uid ${st.uid}, not by this user (uid ${uid}); fix: chown $(id -u) ${path}`);
  }
  if (st.mode & 0o077) {
    throw new Error(
      `${path} has mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}; a secret file must be readable by its owner only. ` +
        `Fix: chmod 600 ${path} (and consider the key compromised if others could read it)`,
    );
  }
}

/** Writes `text` to a fresh 0600 temp file next to `path` and returns its name (rename it into place). */
export async function writeTemp(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomUUID()}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Device key pair in a 0600 JWK file; created on first use, non-extractable once loaded. The
 * certificate the registry issued for it is kept next to it in `<path>.cert`.
 */
export class FileKeyStore implements IdentityKeyStore, CertificateStore {
  constructor(readonly path: string) {}

  async loadCertificate(): Promise<string | undefined> {
    const certPath = `${this.path}.cert`;
    if (!(await exists(certPath))) return undefined;
    await assertOwnerOnlyFile(certPath);
    return (await readFile(certPath, 'utf8')).trim() || undefined;
  }

  async saveCertificate(certificate: string): Promise<void> {
    await rename(await writeTemp(`${this.path}.cert`, certificate + '\n'), `${this.path}.cert`);
  }

  async load(): Promise<CryptoKeyPair | undefined> {
    if (!(await exists(this.path))) return undefined;
    await assertOwnerOnlyFile(this.path);
    let jwk: JsonWebKey;
    try {
      const doc = JSON.parse(await readFile(this.path, 'utf8'));
      if (doc?.type !== KEY_FILE_TYPE || doc.version !== 1) throw new Error('unknown format');
      jwk = doc.private_jwk;
      const publicKey = await importPublicJwk(PublicKeyJwkSchema.parse({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }));
      return { privateKey: await importPrivateJwk(jwk, false), publicKey };
    } catch (err) {
      throw new Error(`${this.path} is not a valid device key file (${(err as Error).message}); move it away to create a new identity`);
    }
  }

  async create(): Promise<CryptoKeyPair> {
    const pair = await generateKeyPair(true);
    const doc = { type: KEY_FILE_TYPE, version: 1, alg: 'ES256', private_jwk: await exportPrivateJwk(pair.privateKey) };
    const tmp = await writeTemp(this.path, JSON.stringify(doc) + '\n');
    try {
      // link() fails if the key file exists: a concurrent start never overwrites an identity.
      await link(tmp, this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp);
    }
    const stored = await this.load();
    if (!stored) throw new Error(`${this.path} vanished while it was being created`);
    return stored;
  }
}

interface TrustFile {
  version: 1;
  pinned_ca?: PublicKeyJwk;
  peers: Record<string, KnownPeerRecord>;
}

/** Pinned CA and known peers of the sidecar in a 0600 JSON file, rewritten atomically. */
export class FileTrustRecords implements TrustRecords {
  #cache: TrustFile | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async getPeer(peerId: string) {
    return (await this.#read()).peers[peerId];
  }
  putPeer(record: KnownPeerRecord) {
    return this.#update((f) => {
      f.peers[record.peer_id] = { ...record };
    });
  }
  deletePeer(peerId: string) {
    return this.#update((f) => {
      delete f.peers[peerId];
    });
  }
  async getPinnedCa() {
    return (await this.#read()).pinned_ca;
  }
  setPinnedCa(jwk: PublicKeyJwk | undefined) {
    return this.#update((f) => {
      if (jwk) f.pinned_ca = jwk;
      else delete f.pinned_ca;
    });
  }

  async #read(): Promise<TrustFile> {
    if (this.#cache) return this.#cache;
    if (!(await exists(this.path))) return (this.#cache = { version: 1, peers: Object.create(null) });
    await assertOwnerOnlyFile(this.path);
    const doc = JSON.parse(await readFile(this.path, 'utf8')) as TrustFile;
    if (doc?.version !== 1 || typeof doc.peers !== 'object') throw new Error(`${this.path} is not a trust records file`);
    return (this.#cache = { version: 1, peers: Object.assign(Object.create(null), doc.peers), ...(doc.pinned_ca ? { pinned_ca: doc.pinned_ca } : {}) });
  }

  /** Writes are serialised so two updates never race on the temp file and rename. */
  #update(change: (f: TrustFile) => void): Promise<void> {
    const next = this.#queue.then(async () => {
      const file = await this.#read();
      change(file);
      const tmp = await writeTemp(this.path, JSON.stringify(file, null, 2) + '\n');
      await rename(tmp, this.path);
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}
