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

function write(level: string, msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${level} ${redact(msg)}\n`);
}

export const log = {
  info: (msg: string) => write('INFO', msg),
  warn: (msg: string) => write('WARN', msg),
  error: (msg: string, err?: unknown) =>
    write('ERROR', err === undefined ? msg : `${msg}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
};
