/** Device identity, registry CA certificates, DTLS channel binding, TOFU and the skill ACL (docs/trust.md). */
export * from './keys.ts';
export * from './certificate.ts';
export * from './link-proof.ts';
export * from './link-auth.ts';
export * from './known-peers.ts';
export * from './acl.ts';
export * from './indexeddb.ts';
export { toBase64url, fromBase64url } from './encoding.ts';
