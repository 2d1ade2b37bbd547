import type { PathType } from './types.ts';

const PATHS = new Set<PathType>(['host', 'srflx', 'prflx', 'relay']);

/**
 * Reads the selected candidate pair from getStats(): its path type (relay if either end is a TURN
 * relay, else the local candidate's type) and its RTT. Chromium reports every pair (pick the
 * transport's selected one, else the nominated succeeded one); the polyfill reports only the
 * selected pair, with the RTT in milliseconds where the W3C field is seconds.
 */
export async function readPath(pc: RTCPeerConnection): Promise<{ path: PathType; rtt_ms?: number }> {
  const report = await pc.getStats();
  // biome-ignore-start lint/suspicious/noExplicitAny: stats entries differ by type and by implementation (browser, polyfill, werift)
  const all = new Map<string, any>();
  report.forEach((v: any, k: string) => all.set(k, v));
  let pair: any;
  // biome-ignore-end lint/suspicious/noExplicitAny: stats entries differ by type and by implementation (browser, polyfill, werift)
  for (const s of all.values()) {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = all.get(s.selectedCandidatePairId);
  }
  if (!pair) {
    for (const s of all.values()) {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    }
  }
  if (!pair) return { path: 'unknown' };
  const local = all.get(pair.localCandidateId);
  const remote = all.get(pair.remoteCandidateId);
  const lt = local?.candidateType as PathType | undefined;
  const rt = remote?.candidateType as PathType | undefined;
  const path: PathType = lt === 'relay' || rt === 'relay' ? 'relay' : lt && PATHS.has(lt) ? lt : 'unknown';
  const raw = pair.currentRoundTripTime;
  if (typeof raw !== 'number') return { path };
  // A polyfill report has no 'candidate-pair' besides the selected one and a string id prefix we know.
  const isPolyfill = typeof pair.id === 'string' && pair.id.startsWith('RTCIceCandidatePair_');
  return { path, rtt_ms: isPolyfill ? raw : raw * 1000 };
}
