/**
 * Turns the JavaScript a person typed into a skill function. It runs only inside that agent's
 * worker (no DOM, no access to the page or its credential); the host's watchdog bounds its time.
 */
export function compileSkill(code: string): (args: unknown) => unknown {
  if (code.length > 20_000) throw new Error('the skill is longer than 20 000 characters');
  let fn: unknown;
  try {
    // A person's own skill code, compiled in the worker that runs it (the worker is its sandbox).
    fn = new Function(`"use strict"; return (${code}\n);`)();
  } catch (e) {
    throw new Error(`does not compile: ${(e as Error).message}`);
  }
  if (typeof fn !== 'function') throw new Error('the code must be a function, for example (args) => args.a + args.b');
  return fn as (args: unknown) => unknown;
}

/** Awaits a skill's result with a time limit (catches slow async skills; the host catches blocked ones). */
export async function runWithLimit<T>(fn: () => T | Promise<T>, limitMs: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(fn),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`skill ${name} exceeded its time limit of ${limitMs} ms`)), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
