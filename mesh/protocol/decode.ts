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
