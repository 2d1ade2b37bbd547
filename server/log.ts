/** One-line logs on stderr. Secrets never reach them: token query values and bearer values are masked. */
const SECRET_PATTERNS: [RegExp, string][] = [
  [/([?&](?:token|claim_secret|secret)=)[^&\s"]+/gi, '$1[redacted]'],
  [/(Bearer\s+)[\w.\-~+/=]+/gi, '$1[redacted]'],
  [/\b(ak_|dt_|cs_)[0-9a-f]{8,}/gi, '$1[redacted]'],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[jwt redacted]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
  return out;
}

/** Control characters (a newline in a name would forge a log line) are written escaped. */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (ch) => (ch === '\n' ? '\\n' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** `msg` on one line; `stack` (our own code's trace, not input) may follow on its own lines. */
function write(level: string, msg: string, stack = ''): void {
  process.stderr.write(`${new Date().toISOString()} ${level} ${oneLine(redact(msg))}${stack && '\n' + redact(stack)}\n`);
}

export const log = {
  info: (msg: string) => write('INFO', msg),
  warn: (msg: string) => write('WARN', msg),
  error: (msg: string, err?: unknown) =>
    err instanceof Error
      ? write('ERROR', `${msg}: ${err.message}`, err.stack?.split('\n').slice(1).join('\n') ?? '')
      : write('ERROR', err === undefined ? msg : `${msg}: ${String(err)}`),
};
