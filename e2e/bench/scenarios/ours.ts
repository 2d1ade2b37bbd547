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
