/** Random identifiers from WebCrypto, the same in a tab, a worker and Node. */

/** `bytes` random bytes as lowercase hex: connection ids, request ids. */
export function randomId(bytes = 8): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** One random unsigned 32-bit integer (half of a delivery session id). */
export function randomU32(): number {
  const b = new Uint32Array(1);
  crypto.getRandomValues(b);
  return b[0]!;
}
