/** The product side of each scenario. Filled in as the product lands; until then, says what is missing. */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../lib/proc.ts';
import type { Fleet } from './fleet.ts';

const exists = (p: string) => access(join(REPO, p)).then(() => true, () => false);

/** Why "ours" cannot be measured yet, or null when the needed product pieces are in the tree. */
export async function oursMissing(what: 'sidecar' | 'registry' | 'web' | 'mesh'): Promise<string | null> {
  const need: Record<typeof what, string[]> = {
    registry: ['server/testing.ts', 'server/main.ts'],
    sidecar: ['server/testing.ts', 'sidecar-node/main.ts'],
    mesh: ['mesh/index.ts'],
    web: ['server/testing.ts', 'web/index.html'],
  };
  for (const p of need[what]) if (!(await exists(p))) return `${p} is not in the tree yet`;
  return 'the bench does not drive this product piece yet';
}

export async function startSidecarFleet(): Promise<Fleet> {
  throw new Error('sidecar fleet not wired yet');
}

/** Our peers for round trip and throughput. */
export interface OursPairs {
  supports(kind: import('./bare-pairs.ts').PairKind): boolean;
  whyNot(kind: import('./bare-pairs.ts').PairKind): string;
  describe(kind: import('./bare-pairs.ts').PairKind): string;
  ping(kind: import('./bare-pairs.ts').PairKind, n: number): Promise<number[]>;
  throughput(kind: import('./bare-pairs.ts').PairKind, bytes: number): Promise<number>;
  close(): Promise<void>;
}

export async function oursPairs(_kinds: import('./bare-pairs.ts').PairKind[]): Promise<{ ok: true; pairs: OursPairs } | { ok: false; reason: string }> {
  return { ok: false, reason: (await oursMissing('sidecar')) ?? 'not wired' };
}

export async function oursIpc(): Promise<
  | { ok: true; client: import('../lib/line-client.ts').LineClient; line: unknown; isReply: (m: any) => boolean; describe: string; close(): Promise<void> }
  | { ok: false; reason: string }
> {
  return { ok: false, reason: (await oursMissing('sidecar')) ?? 'not wired' };
}

/** Two tabs running our mesh core in the same Chromium. */
export interface OursBrowserPair {
  /** connect() → link open between two registered tabs, ms */
  connectTime(): Promise<number>;
  /** MB/s of `bytes` through Mesh.send */
  throughput(bytes: number): Promise<number>;
  close(): Promise<void>;
}

export async function oursBrowserPair(): Promise<{ ok: true; pair: OursBrowserPair } | { ok: false; reason: string }> {
  return { ok: false, reason: (await oursMissing('registry')) ?? 'not wired' };
}

/** A signaling server under load: ours (registry) or the PeerJS server. */
export interface LoadTarget {
  label: string; kind: 'chatixia' | 'peerjs'; url: string; pid: number;
  tokens(ids: string[]): Promise<string[] | undefined>;
  stop(): Promise<void>;
}

export async function oursRegistry(): Promise<{ ok: true; target: LoadTarget } | { ok: false; reason: string }> {
  return { ok: false, reason: (await oursMissing('registry')) ?? 'not wired' };
}
