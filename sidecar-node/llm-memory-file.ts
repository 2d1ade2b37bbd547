import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { MEMORY_MAX_CHARS, type MemoryStore } from '../mesh/llm/memory.ts';

/** Where `agent run agent.yaml` keeps its conversations by default: `agent.memory.json` beside it. */
export function memoryFileFor(definitionFile: string): string {
  return join(dirname(definitionFile), `${basename(definitionFile, extname(definitionFile))}.memory.json`);
}

/**
 * An LLM agent's conversations in one file only its owner can read (0600), so they survive a
 * restart. Written whole through a temporary file and a rename: a crash leaves the old or the new
 * file, never half of one. A file that is not JSON is moved aside (`.unreadable`), not overwritten.
 * `written()` resolves when the last save has ended (ChatMemory saves one at a time): wait for it before exiting.
 */
export function fileMemoryStore(path: string): MemoryStore & { written(): Promise<void> } {
  let writing: Promise<void> = Promise.resolve();
  const write = async (snapshot: unknown) => {
    const tmp = `${path}.${process.pid}.tmp`;
    await rm(tmp, { force: true });
    await writeFile(tmp, JSON.stringify(snapshot), { mode: 0o600 });
    await rename(tmp, path);
  };
  return {
    async load() {
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st) return undefined;
      // UTF-8 takes at most 3 bytes for a character JSON.stringify counts as one (4 for a pair).
      if (st.size > 3 * MEMORY_MAX_CHARS) throw new Error(`${path} is ${st.size} bytes, more than memory ever writes; move it away`);
      if (st.mode & 0o077) await chmod(path, 0o600);
      const text = await readFile(path, 'utf8');
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        await rename(path, `${path}.unreadable`);
        throw new Error(`${path} is not JSON (${(err as Error).message}); moved it to ${path}.unreadable`);
      }
    },
    save: (snapshot) => (writing = write(snapshot)),
    written: () => writing.catch(() => {}),
  };
}
