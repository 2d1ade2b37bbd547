// What the whole suite needs from the machine, checked before the first test runs: installed where
// it can be (root on Debian/Ubuntu: apt, one progress line per package), started when installed
// but stopped, otherwise one line naming the command that would install it, and no tests run.
// `npm run test:unit` needs none of this and skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';

/** A command the suite runs, and the Debian package that has it. */
const COMMANDS = [
  { what: 'Chromium (browser tests)', path: '/usr/bin/chromium', pkg: 'chromium' },
  { what: 'coturn (TURN relay tests)', command: 'turnserver', pkg: 'coturn' },
  { what: 'iproute2 (network-namespace fault tests)', command: 'ip', pkg: 'iproute2' },
  { what: 'nftables (network fault tests)', command: 'nft', pkg: 'nftables' },
  { what: "curl (the README's snippets, e2e/readme.test.ts)", command: 'curl', pkg: 'curl' },
  { what: "jq (the README's snippets, e2e/readme.test.ts)", command: 'jq', pkg: 'jq' },
];

/** A service the multi-instance tests reach on 127.0.0.1, and how to start it when it is installed. */
const SERVICES = [
  {
    what: 'PostgreSQL',
    port: 5432,
    pkg: 'postgresql',
    start: () => {
      const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
      return versions[0] ? ['pg_ctlcluster', '--skip-systemctl-redirect', versions[0], 'main', 'start'] : undefined;
    },
  },
  {
    what: 'Redis',
    port: 6379,
    pkg: 'redis-server',
    start: () => ['redis-server', '--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'],
  },
];

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const present = (c) => (c.path ? existsSync(c.path) : has(c.command));
const isRoot = process.getuid?.() === 0;
const canApt = isRoot && has('apt-get');

function listening(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

function run(argv, env = {}) {
  return spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
}

let aptUpdated = false;
function aptInstall(pkg, what) {
  const started = Date.now();
  process.stdout.write(`test set-up: installing ${pkg} (${what})… `);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) aptUpdated = run(['apt-get', 'update', '-qq'], env).status === 0;
  const res = run(['apt-get', 'install', '-y', '-qq', pkg], env);
  console.log(res.status === 0 ? `done (${Math.round((Date.now() - started) / 1000)} s)` : 'failed');
  if (res.status !== 0) process.stderr.write(res.stderr);
  return res.status === 0;
}

/** Returns what is still missing, each with the command that would fix it. */
export async function setUpTestMachine() {
  const missing = [];
  if (!isRoot) missing.push({ what: 'root (network namespaces, nftables, coturn on privileged ports)', fix: 'sudo npm test' });
  for (const c of COMMANDS) {
    if (present(c)) continue;
    if (canApt && aptInstall(c.pkg, c.what) && present(c)) continue;
    missing.push({ what: c.what, fix: `sudo apt-get install -y ${c.pkg}` });
  }
  for (const s of SERVICES) {
    if (await listening(s.port)) continue;
    const argv = s.start();
    if (argv && has(argv[0])) {
      process.stdout.write(`test set-up: starting ${s.what}… `);
      run(argv);
      for (let i = 0; i < 20 && !(await listening(s.port)); i++) await new Promise((r) => setTimeout(r, 250));
      const up = await listening(s.port);
      console.log(up ? 'done' : 'failed');
      if (up) continue;
    }
    missing.push({ what: `${s.what} on 127.0.0.1:${s.port}`, fix: `sudo apt-get install -y ${s.pkg} (then npm test starts it)` });
  }
  return missing;
}
