/**
 * SSRF guard for URLs taken from outside (A2A card URLs, the interfaces a card names, push URLs):
 * a host that resolves to a loopback, private, link-local or otherwise internal address is refused
 * unless an allow-list names it (`*` allows every host). Node only.
 *
 * guardedFetch checks again when it connects, on the very addresses it connects to: a name that
 * answers a public address to the first check and an internal one to the connection (DNS
 * rebinding) is refused too.
 */
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';

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

/** How a host name is resolved: the system's resolver, or a test's. */
export type Resolve = (host: string) => Promise<LookupAddress[]>;
const systemResolve: Resolve = (host) => lookup(host, { all: true });

const allowed = (host: string, allow: readonly string[]) => allow.includes('*') || allow.includes(host);

/** Throws UrlRefused when `addresses` is empty, or holds an internal one and the host is not allowed. */
function refuse(addresses: readonly string[], host: string, allow: readonly string[], what: string): void {
  if (!addresses.length) throw new UrlRefused(`${what}: ${host} does not resolve`);
  if (allowed(host, allow)) return;
  const bad = addresses.find(isInternal);
  if (bad)
    throw new UrlRefused(
      `${what}: ${host} points at ${bad}, a loopback or private address; refused (SSRF guard). If that is meant, add "${host}" to allowPrivateNetworks`,
    );
}

/** Resolves the URL's host; throws UrlRefused (saying how to allow it) when it is internal and not allowed. */
export async function checkOutboundUrl(raw: string, allow: readonly string[], what = 'URL', resolve = systemResolve): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused(`${what} ${raw} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlRefused(`${what} ${raw} is not http(s)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowed(host, allow)) return url;
  const addresses = isIP(host) ? [host] : (await resolve(host).catch(() => [])).map((a) => a.address);
  refuse(addresses, host, allow, `${what} ${raw}`);
  return url;
}

/** The connection's own lookup: what it connects to is what was checked, not a second, rebound answer. */
function checkedLookup(allow: readonly string[], what: string, resolve: Resolve): LookupFunction {
  return (host, options, callback) => {
    resolve(host)
      .then((all) => {
        const found = options.family ? all.filter((a) => a.family === options.family) : all;
        const addresses = found.map((a) => a.address);
        refuse(addresses, host, allow, what);
        if (options.all) callback(null, found);
        else callback(null, found[0]!.address, found[0]!.family);
      })
      .catch((e: Error) => callback(e, ''));
  };
}

/** A fetch that checks every URL it is given and follows no redirects (a redirect could lead inside). */
export function guardedFetch(allow: readonly string[], what: string, resolve = systemResolve): typeof fetch {
  const dispatcher = new Agent({ connect: { lookup: checkedLookup(allow, what, resolve) } });
  return async (input, init) => {
    const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    await checkOutboundUrl(raw, allow, what, resolve);
    // Node's fetch takes an undici dispatcher; the DOM's RequestInit type does not name it.
    const options: RequestInit & { dispatcher: Agent } = { ...init, redirect: 'error', dispatcher };
    try {
      return await fetch(input, options);
    } catch (e) {
      // fetch reports a refused connection as "fetch failed"; the refusal itself says what to do.
      throw e instanceof Error && e.cause instanceof UrlRefused ? e.cause : e;
    }
  };
}
