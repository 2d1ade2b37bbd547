import type { z } from 'zod';

/** Why an input was refused; `code` is stable, `message` is for people. */
export interface ProtocolError {
  code: 'too_large' | 'bad_json' | 'invalid' | 'unknown_type';
  message: string;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/**
 * Parses untrusted JSON text: size first (cheap), then JSON, then the schema.
 * Never throws; the caller answers the error and keeps the connection.
 */
export function decode<S extends z.ZodType>(schema: S, text: string, maxChars: number): Decoded<z.infer<S>> {
  if (text.length > maxChars) {
    return fail('too_large', `message of ${text.length} bytes exceeds the limit of ${maxChars}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('bad_json', 'not valid JSON');
  }
  return check(schema, raw);
}

/** Nesting beyond this is refused (a JSON document thousands deep costs recursion everywhere it goes). */
export const MAX_JSON_DEPTH = 64;

/**
 * What makes parsed JSON unfit to store, or undefined: nesting deeper than `maxDepth`, or a NUL
 * character in a string or key (PostgreSQL text and jsonb cannot hold one).
 */
export function jsonShapeProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return 'strings may not contain NUL characters (\\u0000)';
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return `JSON nested deeper than ${maxDepth} levels`;
    for (const [k, child] of Object.entries(v)) {
      if (k.includes('\u0000')) return 'keys may not contain NUL characters (\\u0000)';
      stack.push([child, depth + 1]);
    }
  }
  return undefined;
}

/** Validates an already-parsed value against a schema. */
export function check<S extends z.ZodType>(schema: S, raw: unknown): Decoded<z.infer<S>> {
  const res = schema.safeParse(raw);
  if (res.success) return { ok: true, value: res.data };
  return fail('invalid', describe(res.error));
}

export function fail(code: ProtocolError['code'], message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

/** One readable line from a zod error: the first issue with its path. */
export function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid input';
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
