/**
 * The README's shell snippets, run as written, line by line, in one bash session (variables and
 * functions carry over, as in a terminal): the registry from `npm start`, two sidecars and an agent
 * from their lines, the delegation whose printed answer must equal the README's `# {…}` line — five
 * times, with the dashboard open in Chromium (its tab has an echo agent with `upper` too) — and an
 * LLM agent from `agent init` / `agent run` next to a sidecar. Lines a person leaves running
 * ("terminal 2", an agent) run in the background; the test waits for what they start before the
 * next line, as a person would. Only the commands in NOT_RUN do not run, each for a stated reason; every other
 * line of every sh block runs. The systemd unit the README installs is checked against the code (its exit status on revocation).
 *
 * Not literal: the port (a free one instead of 8080, which may be taken) and the working directory
 * (a fresh directory holding links to the repository's files, so `.mesh-data` starts empty).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../server/testing.ts';
import { RegistryClient } from '../mesh/registry-client.ts';
import { launchChromium } from './browser.ts';
import { ensureBuilt, REPO } from './web/build.ts';
import { signIn, until } from './web/helpers.ts';
import { REVOKED_EXIT_CODE } from '../mesh/revocation.ts';

/** Commands of the README that this test does not run, and why. */
const NOT_RUN: Array<[RegExp, string]> = [
  [/^npm install(?= |$)/, 'the checkout this test runs in is installed already'],
  [/^npm test(?= |$)/, 'this test is part of it'],
  [/^sudo .*/, "a Pi's system install as root: e2e/pi/package.test.ts installs the packed package and verifies its unit"],
];
/** Commands that keep running (a terminal of their own): started in the background. */
const KEEPS_RUNNING = /^npm start\b|npm run sidecar\b|examples\/upper-agent\.ts|chatixia-sidecar agent run\b/;

interface Line {
  cmd: string;
  expect?: string;
  block: number;
}

/** Every command line of every ```sh block (continuations joined), with the `# {…}` line after it. */
function readmeCommands(): Line[] {
  const md = readFileSync(join(REPO, 'README.md'), 'utf8');
  const out: Line[] = [];
  let block = 0;
  for (const m of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    block++;
    const joined = m[1]!.replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      if (line.startsWith('#')) {
        const json = line.slice(1).trim();
        if (json.startsWith('{')) out[out.length - 1]!.expect = json;
        continue;
      }
      out.push({ cmd: line.replace(/\s+#[^'"]*$/, ''), block });
    }
  }
  return out;
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A bash that reads commands from us; each one's output and exit status come back between markers. */
function shell(cwd: string, env: Record<string, string>) {
  const bash: ChildProcessWithoutNullStreams = spawn('bash', ['--norc', '--noprofile'], { cwd, env, detached: true });
  let out = '';
  let err = '';
  bash.stdout.on('data', (d: Buffer) => (out += d));
  bash.stderr.on('data', (d: Buffer) => (err += d));
  bash.stdin.write('set -m\n'); // every background job in its own process group: killed as a whole at the end
  let n = 0;
  return {
    async run(cmd: string, timeoutMs = 120_000): Promise<{ status: number; stdout: string; stderr: string }> {
      const mark = `__readme_done_${++n}__`;
      const [o0, e0] = [out.length, err.length];
      bash.stdin.write(`${cmd}\necho "${mark} $?"\n`);
      const line = await until(`"${cmd}" to finish`, () => new RegExp(`${mark} (\\d+)\\n`).exec(out.slice(o0)), timeoutMs, 50);
      return { status: Number(line[1]), stdout: out.slice(o0, o0 + line.index), stderr: err.slice(e0) };
    },
    async close() {
      bash.stdin.write('for j in $(jobs -p); do kill -TERM -- -$j 2>/dev/null; done; sleep 1; exit\n');
      await new Promise((r) => {
        bash.once('exit', r);
        setTimeout(r, 8000);
      });
      try {
        process.kill(-bash.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
    output: () => out + err,
  };
}

test('every README sh snippet runs as written and prints what the README says', async () => {
  ensureBuilt();
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'readme-'));
  for (const name of readdirSync(REPO)) if (name !== '.mesh-data' && name !== '.git') symlinkSync(join(REPO, name), join(cwd, name));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(API_KEY|DEVICE_TOKEN|REGISTRY_URL|IPC_SOCKET|MESH_DATA_DIR|ADMIN_API_KEY|PORT|DATABASE_URL|REDIS_URL|OPENAI_API_KEY)$/.test(k),
    ),
  ) as Record<string, string>;
  const sh = shell(cwd, { ...env, PORT: String(port) });
  cleanups.push(() => sh.close());
  const url = `http://localhost:${port}`;
  // The LLM agent's snippet runs last: it needs a sidecar, started with the `key` helper of the sidecars' snippet.
  const all = readmeCommands().map((l) => ({ ...l, cmd: l.cmd.replaceAll('localhost:8080', `localhost:${port}`) }));
  const llmBlocks = new Set(all.filter((l) => /agent run\b/.test(l.cmd)).map((l) => l.block));
  const lines = [...all.filter((l) => !llmBlocks.has(l.block)), ...all.filter((l) => llmBlocks.has(l.block))];
  assert.ok(lines.length >= 10, `only ${lines.length} command lines found in README.md`);

  let admin: RegistryClient | undefined;
  const agents = async () => (await admin!.listAgents()).filter((a) => a.health === 'active').map((a) => a.agent_id);
  const ran: string[] = [];
  let registryUp = false;

  for (const line of lines) {
    let cmd = line.cmd;
    for (const [re] of NOT_RUN) cmd = cmd.replace(new RegExp(re.source + '(\\s*&&\\s*)?'), '').trim();
    if (!cmd) continue;
    if (/^npm start\b/.test(cmd) && registryUp) continue; // the README starts the same registry in two snippets

    if (/agent run\b/.test(cmd)) {
      // "next to the sidecar": one on the default socket, started the README's way.
      const r = await sh.run(`API_KEY=$(key pi-llm) REGISTRY_URL=${url} npm run sidecar < /dev/null > sidecar-llm.log 2>&1 &`);
      assert.equal(r.status, 0);
      await until('the sidecar on the default socket', () => existsSync('/tmp/chatixia-sidecar.sock'), 60_000, 200);
      await until('pi-llm in the registry', async () => (await agents()).includes('pi-llm'), 60_000, 300);
    }
    if (line.expect) await expectAnswer(cmd, line.expect);
    else if (KEEPS_RUNNING.test(cmd)) {
      const log = `bg-${ran.length}.log`;
      const r = await sh.run(`${cmd} < /dev/null > ${log} 2>&1 &`); // with job control on, bash would hand it our stdin
      assert.equal(r.status, 0, cmd);
      await readyAfter(cmd, log);
    } else {
      const r = await sh.run(cmd);
      assert.equal(r.status, 0, `"${cmd}" failed: ${r.stderr}`);
    }
    ran.push(cmd);
  }
  assert.ok(ran.some((c) => /agent init/.test(c)) && ran.some((c) => /call delegate/.test(c)), `not every snippet ran: ${ran.join(' | ')}`);

  async function readyAfter(cmd: string, log: string) {
    const logText = () => {
      try {
        return readFileSync(join(cwd, log), 'utf8');
      } catch {
        return '';
      }
    };
    if (/^npm start\b/.test(cmd)) {
      await until(`the registry on ${url} (log: ${logText()})`, async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 120_000, 250);
      registryUp = true;
      admin = new RegistryClient({ baseUrl: url, apiKey: readFileSync(join(cwd, '.mesh-data', 'admin.key'), 'utf8').trim() });
      return;
    }
    const sock = /IPC_SOCKET=(\S+)/.exec(cmd)?.[1];
    if (/npm run sidecar\b/.test(cmd)) {
      await until(`the socket ${sock} (log: ${logText()})`, () => existsSync(sock!), 60_000, 200);
      await until(`the sidecar in the mesh (log: ${logText()})`, () => /is in the mesh/.test(logText()), 60_000, 200);
      return;
    }
    const name = /upper-agent/.test(cmd) ? 'upper@' : 'assistant@';
    await until(`${name}… in the registry (log: ${logText()})`, async () => (await agents()).some((a) => a.startsWith(name)), 60_000, 300);
  }

  /** Runs a command whose answer the README prints; with the dashboard open, five times. */
  async function expectAnswer(cmd: string, expect: string) {
    const want = JSON.parse(expect) as { peer_id: string; agent_id: string };
    // As the README says: the dashboard is open. Its tab runs an echo agent, which has `upper` too.
    const browser = await launchChromium();
    cleanups.push(() => browser.close().catch(() => {}));
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await signIn(page, readFileSync(join(cwd, '.mesh-data', 'admin.key'), 'utf8').trim());
    await until("the tab's echo agent in the registry", async () => (await agents()).some((a) => a.startsWith('echo@web-')), 30_000, 300);
    // A person types the next line after the sidecars have found each other (the topology shows the link).
    const from = /IPC_SOCKET=\/tmp\/a\.sock/.test(cmd) ? 'pi-kitchen' : '';
    await until(
      `a link ${from}–${want.peer_id} in the topology`,
      async () =>
        (await admin!.topology()).mesh_edges.some((e) => [e.from_peer, e.to_peer].includes(want.peer_id) && (!from || [e.from_peer, e.to_peer].includes(from))),
      60_000,
      500,
    );
    for (let i = 0; i < 5; i++) {
      const r = await sh.run(cmd);
      assert.equal(r.status, 0, `"${cmd}" failed: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout), JSON.parse(expect), `run ${i + 1} of "${cmd}"`);
    }
  }
});

test('the systemd unit the README installs runs the packaged sidecar and does not restart it after a revocation', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const copied = /chatixia-sidecar\/systemd\/([\w.@-]+\.service)/.exec(readme)?.[1];
  assert.ok(copied, 'the README installs no systemd unit');
  const unit = readFileSync(join(REPO, 'sidecar-node', 'pkg', copied), 'utf8');
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1]?.trim();
  assert.match(get('ExecStart') ?? '', /\bchatixia-sidecar$/, "the unit runs the package's command");
  assert.equal(get('Restart'), 'on-failure');
  assert.ok(get('RestartPreventExitStatus')?.split(/\s+/).includes(String(REVOKED_EXIT_CODE)), 'systemd would restart a revoked sidecar forever');
});
