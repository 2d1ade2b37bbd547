import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Id, Role, describe } from '../../mesh/protocol/index.ts';

const Entry = z.object({ peer_id: Id, role: Role });
/** The Rust registry reads {"keys": {"<key>": {peer_id, role}}}; the bare map (no "keys" wrapper) is accepted too. Both work. */
const KeysFile = z.union([z.object({ keys: z.record(z.string().min(8), Entry) }), z.record(z.string().min(8), Entry)]);

export type StaticKeys = Map<string, z.infer<typeof Entry>>;

/** Reads API_KEYS_FILE; a broken file stops the start with a clear message instead of running without keys. */
export function readKeysFile(path: string): StaticKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`API_KEYS_FILE ${path}: ${(e as Error).message}`);
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) throw new Error(`API_KEYS_FILE ${path}: ${describe(parsed.error)}`);
  const map = 'keys' in parsed.data && typeof parsed.data.keys === 'object' && !('peer_id' in parsed.data.keys) ? parsed.data.keys : parsed.data;
  return new Map(Object.entries(map as Record<string, z.infer<typeof Entry>>));
}
