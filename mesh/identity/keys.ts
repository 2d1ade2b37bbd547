import { PrivateKeyJwkSchema, PublicKeyJwkSchema, type PublicKeyJwk } from '../protocol/identity.ts';
import { fromBase64url, toBase64url, utf8 } from './encoding.ts';

/**
 * Device and CA keys: ECDSA P-256 with SHA-256 (JWS "ES256"). Ed25519 works in Chromium 156 and
 * Node 20 too, but P-256 also works in every phone browser that has WebCrypto and in any JOSE library.
 */
export const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** WebCrypto of the browser or of Node 20 (`globalThis.crypto`). */
function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto is not available: browsers expose it only in secure contexts (https or localhost)');
  return s;
}

/** A device's identity: the private key never leaves its store (non-extractable). */
export interface DeviceIdentity {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: PublicKeyJwk;
  /** RFC 7638 thumbprint of the public key: the short name of the key peers remember. */
  keyId: string;
}

/** Where a device keeps its key pair. Each store creates the key the way it can persist it. */
export interface IdentityKeyStore {
  load(): Promise<CryptoKeyPair | undefined>;
  create(): Promise<CryptoKeyPair>;
}

export function generateKeyPair(extractable: boolean): Promise<CryptoKeyPair> {
  return subtle().generateKey(KEY_ALGORITHM, extractable, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

export async function loadOrCreateIdentity(store: IdentityKeyStore): Promise<DeviceIdentity> {
  const pair = (await store.load()) ?? (await store.create());
  return identityOf(pair);
}

export async function identityOf(pair: CryptoKeyPair): Promise<DeviceIdentity> {
  const publicJwk = await publicJwkOf(pair.publicKey);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicJwk, keyId: await jwkThumbprint(publicJwk) };
}

/** Where a device keeps the certificate the registry issued for its key (not a secret). */
export interface CertificateStore {
  loadCertificate(): Promise<string | undefined>;
  saveCertificate(certificate: string): Promise<void>;
}

/** Keeps a key pair for the life of the process (tests, throwaway peers). */
export class MemoryKeyStore implements IdentityKeyStore, CertificateStore {
  #pair: CryptoKeyPair | undefined;
  #certificate: string | undefined;
  async loadCertificate(): Promise<string | undefined> {
    return this.#certificate;
  }
  async saveCertificate(certificate: string): Promise<void> {
    this.#certificate = certificate;
  }
  async load(): Promise<CryptoKeyPair | undefined> {
    return this.#pair;
  }
  async create(): Promise<CryptoKeyPair> {
    this.#pair = await generateKeyPair(false);
    return this.#pair;
  }
}

export async function publicJwkOf(publicKey: CryptoKey): Promise<PublicKeyJwk> {
  const { kty, crv, x, y } = await subtle().exportKey('jwk', publicKey);
  return PublicKeyJwkSchema.parse({ kty, crv, x, y });
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
export async function jwkThumbprint(jwk: PublicKeyJwk): Promise<string> {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return toBase64url(await subtle().digest('SHA-256', utf8(canonical)));
}

/** Exports a private key created extractable (CA key, Node key file) as a minimal JWK. */
export async function exportPrivateJwk(privateKey: CryptoKey): Promise<JsonWebKey> {
  const { kty, crv, x, y, d } = PrivateKeyJwkSchema.parse(await subtle().exportKey('jwk', privateKey));
  return { kty, crv, x, y, d };
}

export function importPublicJwk(jwk: PublicKeyJwk): Promise<CryptoKey> {
  const { kty, crv, x, y } = PublicKeyJwkSchema.parse(jwk);
  return subtle().importKey('jwk', { kty, crv, x, y, ext: true }, KEY_ALGORITHM, true, ['verify']);
}

/** Imports a private JWK (`d` present), non-extractable unless asked. */
export function importPrivateJwk(jwk: JsonWebKey, extractable = false): Promise<CryptoKey> {
  const parsed = PrivateKeyJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new Error('not an EC P-256 private JWK');
  const { kty, crv, x, y, d } = parsed.data;
  return subtle().importKey('jwk', { kty, crv, x, y, d, ext: extractable }, KEY_ALGORITHM, extractable, ['sign']);
}

/** Returns a base64url raw (r||s) signature over the UTF-8 text. */
export async function signText(privateKey: CryptoKey, text: string): Promise<string> {
  return toBase64url(await subtle().sign(SIGN_ALGORITHM, privateKey, utf8(text)));
}

/** False for any signature that is malformed or does not verify; never throws on bad input. */
export async function verifyText(publicKey: CryptoKey, signature: string, text: string): Promise<boolean> {
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = fromBase64url(signature);
  } catch {
    return false;
  }
  if (sig.length !== 64) return false;
  try {
    return await subtle().verify(SIGN_ALGORITHM, publicKey, sig, utf8(text));
  } catch {
    return false;
  }
}
