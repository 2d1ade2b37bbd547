/** Shared pieces of the LLM agent tests: agent definitions and their runner, a Python agent on a socket, and the key-leak scan. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../server/storage/db.ts';
import { REPO } from '../web/build.ts';
import { SIDECAR_BIN } from '../../sidecar-node/test-support.ts';

export const PY_AGENT = join(REPO, 'sidecar-node', 'test-fixtures', 'py_agent.py');

export interface PyEvent {
  event: string;
  payload?: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * Writes `agent.yaml` into `dir` for an OpenAI-compatible provider (the stand-in), its key in
 * `provider.key` beside it (mode 0600, as `agent run` demands); `more` adds YAML lines. Returns the definition's path.
 */
export function writeAgentDefinition(dir: string, o: { name: string; baseUrl: string; key: string; skills: string[]; more?: string[] }): string {
  const keyFile = join(dir, 'provider.key');
  writeFileSync(keyFile, `${o.key}\n`, { mode: 0o600 });
  const file = join(dir, 'agent.yaml');
  writeFileSync(
    file,
    [
      `name: ${o.name}`,
      'provider:',
      '  kind: compatible',
      `  base_url: ${o.baseUrl}`,
      '  model: stand-in-1',
      `  api_key_file: ${keyFile}`,
      `skills: [${o.skills.join(', ')}]`,
      ...(o.more ?? []),
    ].join('\n'),
  );
  return file;
}

/** `chatixia-sidecar agent run <file>` beside the sidecar listening on `socket`; its stdout and stderr are piped. */
export function runAgentFile(file: string, socket: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [SIDECAR_BIN, 'agent', 'run', file, '--ipc-socket', socket], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the stdlib Python agent; its JSON-line events are collected as they come. */
export function pythonAgent(args: string[]): { child: ChildProcess; events: PyEvent[]; stderr: () => string; stdout: () => string } {
  const child = spawn('python3', [PY_AGENT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: PyEvent[] = [];
  let out = '';
  let all = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
      events.push(JSON.parse(out.slice(0, i)) as PyEvent);
      out = out.slice(i + 1);
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, events, stderr: () => err, stdout: () => all };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/**
 * Where the registry could have kept a key: every byte of its data directory (tables, WAL), and
 * every row of every table read back through SQL (values PostgreSQL compressed are seen there).
 * Call with the registry stopped. Returns the places the secret was found.
 */
export async function findInRegistryData(dataDir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  const needle = Buffer.from(secret);
  for (const f of filesUnder(dataDir)) if (readFileSync(f).includes(needle)) found.push(f);
  const db = await openDb({ dataDir });
  try {
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    if (!tables.some((t) => t.table_name === 'audit') || !tables.some((t) => t.table_name === 'agents'))
      throw new Error(`unexpected tables: ${tables.map((t) => t.table_name)}`);
    for (const { table_name } of tables) {
      const rows = await db.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      if (rows.some((r) => r.j.includes(secret))) found.push(`table ${table_name}`);
    }
  } finally {
    await db.close();
  }
  return found;
}
