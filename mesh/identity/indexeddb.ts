import type { PublicKeyJwk } from '../protocol/identity.ts';
import { generateKeyPair, type CertificateStore, type IdentityKeyStore } from './keys.ts';
import type { KnownPeerRecord, TrustRecords } from './known-peers.ts';

/**
 * Browser persistence (web standard IndexedDB). CryptoKey objects are structured-cloneable, so a
 * non-extractable private key is stored as is: the page can use it to sign but nobody, the page
 * included, can read its bytes.
 */

export const IDENTITY_DB_NAME = 'chatixia-identity';
const KEYS = 'keys';
const PEERS = 'known_peers';
const META = 'meta';

const opened = new Map<string, Promise<IDBDatabase>>();

function openDb(name: string): Promise<IDBDatabase> {
  let db = opened.get(name);
  if (!db) {
    db = new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore(KEYS);
        req.result.createObjectStore(PEERS, { keyPath: 'peer_id' });
        req.result.createObjectStore(META);
      };
      req.onsuccess = () => {
        req.result.onversionchange = () => {
          req.result.close();
          opened.delete(name);
        };
        resolve(req.result);
      };
      req.onerror = () => {
        opened.delete(name);
        reject(req.error ?? new Error(`cannot open IndexedDB ${name}`));
      };
    });
    opened.set(name, db);
  }
  return db;
}

async function run<T>(dbName: string, store: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await openDb(dbName);
  return new Promise<T>((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = op(tx.objectStore(store));
    tx.oncomplete = () => resolve(req.result as T);
    tx.onabort = tx.onerror = () => reject(req.error ?? tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** The tab's device key pair, created on first use; the private key is non-extractable. */
export class IndexedDbKeyStore implements IdentityKeyStore, CertificateStore {
  readonly #dbName: string;
  readonly #name: string;
  constructor(dbName: string = IDENTITY_DB_NAME, name = 'device') {
    this.#dbName = dbName;
    this.#name = name;
  }

  loadCertificate(): Promise<string | undefined> {
    return run<string | undefined>(this.#dbName, KEYS, 'readonly', (s) => s.get(`${this.#name}:certificate`));
  }

  async saveCertificate(certificate: string): Promise<void> {
    await run(this.#dbName, KEYS, 'readwrite', (s) => s.put(certificate, `${this.#name}:certificate`));
  }

  async load(): Promise<CryptoKeyPair | undefined> {
    const pair = await run<CryptoKeyPair | undefined>(this.#dbName, KEYS, 'readonly', (s) => s.get(this.#name));
    return pair?.privateKey && pair.publicKey ? pair : undefined;
  }

  async create(): Promise<CryptoKeyPair> {
    const pair = await generateKeyPair(false);
    try {
      await run(this.#dbName, KEYS, 'readwrite', (s) => s.add({ privateKey: pair.privateKey, publicKey: pair.publicKey }, this.#name));
      return pair;
    } catch (err) {
      // Another tab created the key first: use that one, so the device keeps one identity.
      const existing = await this.load();
      if (existing) return existing;
      throw err;
    }
  }
}

/** Pinned CA and known peers of this browser profile. */
export class IndexedDbTrustRecords implements TrustRecords {
  readonly #dbName: string;
  constructor(dbName: string = IDENTITY_DB_NAME) {
    this.#dbName = dbName;
  }
  getPeer(peerId: string) {
    return run<KnownPeerRecord | undefined>(this.#dbName, PEERS, 'readonly', (s) => s.get(peerId));
  }
  async putPeer(record: KnownPeerRecord) {
    await run(this.#dbName, PEERS, 'readwrite', (s) => s.put(record));
  }
  async deletePeer(peerId: string) {
    await run(this.#dbName, PEERS, 'readwrite', (s) => s.delete(peerId));
  }
  getPinnedCa() {
    return run<PublicKeyJwk | undefined>(this.#dbName, META, 'readonly', (s) => s.get('pinned_ca'));
  }
  async setPinnedCa(jwk: PublicKeyJwk | undefined) {
    await run(this.#dbName, META, 'readwrite', (s) => (jwk ? s.put(jwk, 'pinned_ca') : s.delete('pinned_ca')));
  }
}
