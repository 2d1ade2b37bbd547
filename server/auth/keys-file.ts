import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Id, Role, describe } from '../../mesh/protocol/index.ts';

const Entry = z.object({ peer_id: Id, role: Role });
/** The Rust registry reads {"keys": {"<key>": {peer_id, role}}}; the bare map (no "keys" wrapper) is accepted too. Both work. */
const KeysFile = z.union([z.object({ keys: z.record(z.string().min(8), Entry) }), z.record(z.string().min(8), Entry)]);

/** "peer_id x" of an entry, for an error message about its key. */
function describeEntry(entries: object, key: string): string {
  const e = Entry.safeParse(Object.getOwnPropertyDescriptor(entries, key)?.value);
  return e.success ? `peer_id ${e.data.peer_id}` : 'an entry';
}

export type StaticKeys = Map<string, z.infer<typeof Entry>>;

/** Reads API_KEYS_FILE; a broken file stops the start with a clear message instead of running without keys. */
export function readKeysFile(path: string): StaticKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`API_KEYS_FILE ${path}: ${(e as Error).message}`);
  }
  const entries = raw && typeof raw === 'object' && 'keys' in raw ? raw.keys : raw;
  if (entries && typeof entries === 'object') {
    for (const key of Object.keys(entries)) {
      if (key.length < 8)
        throw new Error(
          `API_KEYS_FILE ${path}: the key "${key.slice(0, 2)}…" (for ${describeEntry(entries, key)}) is ${key.length} characters; keys need at least 8`,
        );
    }
  }
  const parsed = KeysFile.safeParse(raw);
  if (!parsed.success) throw new Error(`API_KEYS_FILE ${path}: ${describe(parsed.error)}`);
  const map = 'keys' in parsed.data && typeof parsed.data.keys === 'object' && !('peer_id' in parsed.data.keys) ? parsed.data.keys : parsed.data;
  return new Map(Object.entries(map as Record<string, z.infer<typeof Entry>>));
}
