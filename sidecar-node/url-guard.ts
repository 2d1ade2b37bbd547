/**
 * SSRF guard for URLs taken from outside (A2A card URLs, the interfaces a card names, push URLs):
 * a host that resolves to a loopback, private, link-local or otherwise internal address is refused
 * unless an allow-list names it (`*` allows every host). Node only.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  internal.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  internal.addSubnet(net, bits, 'ipv6');

export class UrlRefused extends Error {}

function isInternal(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return internal.check(mapped[1]!, 'ipv4');
  return internal.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** Resolves the URL's host; throws UrlRefused (saying how to allow it) when it is internal and not allowed. */
export async function checkOutboundUrl(raw: string, allow: readonly string[], what = 'URL'): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused(`${what} ${raw} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlRefused(`${what} ${raw} is not http(s)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allow.includes('*') || allow.includes(host)) return url;
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (!addresses.length) throw new UrlRefused(`${what} ${raw}: ${host} does not resolve`);
  const bad = addresses.find(isInternal);
  if (bad)
    throw new UrlRefused(
      `${what} ${raw} points at ${bad}, a loopback or private address; refused (SSRF guard). If that is meant, add "${host}" to allowPrivateNetworks`,
    );
  return url;
}

/** A fetch that checks every URL it is given and follows no redirects (a redirect could lead inside). */
export function guardedFetch(allow: readonly string[], what: string): typeof fetch {
  return async (input, init) => {
    const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    await checkOutboundUrl(raw, allow, what);
    return fetch(input, { ...init, redirect: 'error' });
  };
}
