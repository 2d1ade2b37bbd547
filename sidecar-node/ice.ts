import { createHmac } from 'node:crypto';

/** TURN_URL + TURN_SECRET → an ICE server with ephemeral credentials (coturn's use-auth-secret scheme). */
export function turnFromSecret(turnUrl: string | undefined, secret: string | undefined, ttlS = 24 * 3600): RTCIceServer[] {
  if (!turnUrl || !secret) return [];
  const username = `${Math.floor(Date.now() / 1000) + ttlS}:mesh`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return [{ urls: [turnUrl], username, credential }];
}

/**
 * node-datachannel's polyfill turns each server into a URL (`turn:user:pass@host:port`), which
 * libdatachannel parses and then URL-decodes. TURN REST credentials contain ':' (`<expiry>:<id>`)
 * and base64 '/', '+', '=', so they must be percent-encoded first or coturn sees a truncated
 * username (401). Browsers take the raw values; only the Node peer needs this.
 */
export function encodeForLibdatachannel(servers: RTCIceServer[]): RTCIceServer[] {
  return servers.map((s) =>
    s.username === undefined && s.credential === undefined
      ? s
      : {
          ...s,
          ...(s.username !== undefined && { username: encodeURIComponent(s.username) }),
          ...(typeof s.credential === 'string' && { credential: encodeURIComponent(s.credential) }),
        },
  );
}
