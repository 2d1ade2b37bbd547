/**
 * Signaling load generator (its own process): N simulated peers on WebSockets against either our
 * registry or the PeerJS server. Each peer registers, sends heartbeats every 5 s, and the peers
 * trade offers/answers in pairs (2k ↔ 2k+1): whoever receives an offer answers at once. Every
 * relayed frame carries its send time, and both ends of a pair live in this process, so one clock
 * measures the one-way relay latency exactly.
 *
 * Phases: connect+register (bounded concurrency) → waits for "go" on stdin (the bench reads the
 * server's memory meanwhile) → 2 s warm-up at the fixed rate (not measured) → fixed rate (open
 * loop) → saturation (closed loop: one offer in flight per pair). Only pairs whose both peers are
 * connected trade offers. Prints JSON lines: {progress}, {connected}, {result}.
 * Config: argv[2] = path of a JSON file { kind, url, ids, tokens?, ratePerS, rateMs, satMs }.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { createInterface } from 'node:readline';

type Kind = 'chatixia' | 'peerjs';
interface Config {
  kind: Kind;
  url: string;
  ids: string[];
  tokens?: string[];
  ratePerS: number;
  concurrency?: number;
  connectDeadlineMs?: number;
}
const cfg: Config = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const now = () => performance.now();
// A realistic SDP-sized body (an offer with a few candidates is ~500-900 bytes).
const FILLER = 'a=candidate:1 1 UDP 2122317823 192.168.1.23 54321 typ host '.repeat(8);

const n = cfg.ids.length;
const socks: WebSocket[] = new Array(n);
let phase: 'connect' | 'idle' | 'rate' | 'sat' = 'connect';
let received = 0;
let lat: number[] = [];
let errors = 0;
let closedEarly = 0;

function frame(kind: Kind, i: number, dst: number, type: 'offer' | 'answer'): string {
  const sdp = `ts=${now().toFixed(3)};${FILLER}`;
  if (kind === 'peerjs') {
    return JSON.stringify({ type: type.toUpperCase(), dst: cfg.ids[dst], payload: { sdp: { type, sdp }, type: 'data', connectionId: 'dc_bench' } });
  }
  return JSON.stringify({ type, peer_id: cfg.ids[i], target_id: cfg.ids[dst], payload: { sdp } });
}
const partner = (i: number) => (i % 2 === 0 ? i + 1 : i - 1);

function onFrame(i: number, s: string) {
  const k = s.indexOf('ts=');
  if (k < 0) {
    if (s.includes('"error"') || s.includes('"ERROR"')) errors++;
    return;
  }
  const ts = parseFloat(s.slice(k + 3, s.indexOf(';', k)));
  received++;
  if (phase === 'rate' || phase === 'sat') lat.push(now() - ts);
  const isOffer = cfg.kind === 'peerjs' ? s.includes('"type":"OFFER"') : s.startsWith('{"type":"offer"');
  const p = partner(i);
  if (isOffer) send(i, frame(cfg.kind, i, p, 'answer'));
  else if (phase === 'sat') send(i, frame(cfg.kind, i, p, 'offer')); // closed loop: next offer
}

function send(i: number, text: string) {
  const ws = socks[i];
  if (ws && ws.readyState === ws.OPEN) ws.send(text);
}

function connectOne(i: number): Promise<void> {
  return new Promise((resolve) => {
    const id = cfg.ids[i]!;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        resolve();
      }
    };
    const ws =
      cfg.kind === 'peerjs'
        ? new WebSocket(`${cfg.url}/peerjs?key=peerjs&id=${id}&token=t${i}`, { perMessageDeflate: false })
        : new WebSocket(cfg.url, ['chatixia-jwt', cfg.tokens![i]!], { perMessageDeflate: false });
    socks[i] = ws;
    ws.on('open', () => {
      if (cfg.kind === 'chatixia') ws.send(JSON.stringify({ type: 'register', peer_id: id, payload: {} }));
    });
    ws.on('message', (d) => {
      const s = d.toString();
      if (!done) {
        if (s.startsWith('{"type":"OPEN"') || s.includes('"type":"peer_list"')) return finish();
      }
      onFrame(i, s);
    });
    ws.on('close', () => {
      if (phase !== 'connect' || done) closedEarly++;
      finish();
    });
    ws.on('error', () => {
      errors++;
      finish();
    });
  });
}

async function connectAll(): Promise<number> {
  const t = now();
  const conc = cfg.concurrency ?? 50;
  let next = 0,
    connected = 0;
  const deadline = t + (cfg.connectDeadlineMs ?? 120000);
  const worker = async () => {
    while (next < n && now() < deadline) {
      const i = next++;
      await connectOne(i);
      connected++;
      if (connected % 500 === 0) out({ progress: `registered ${connected}/${n}` });
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  return now() - t;
}

const openCount = () => socks.filter((w) => w && w.readyState === w.OPEN).length;

function heartbeats(): () => void {
  // every peer once per 5 s, spread over 100 ms ticks
  let cursor = 0;
  const per = Math.ceil(n / 50);
  const t = setInterval(() => {
    for (let k = 0; k < per; k++, cursor = (cursor + 1) % n) {
      send(cursor, cfg.kind === 'peerjs' ? '{"type":"HEARTBEAT"}' : JSON.stringify({ type: 'heartbeat', peer_id: cfg.ids[cursor], payload: {} }));
    }
  }, 100);
  return () => clearInterval(t);
}

/** Even indices of pairs whose both sockets are open: only they trade offers, so the rate is what it says. */
function livePairs(): number[] {
  const open = (i: number) => {
    const w = socks[i];
    return !!w && w.readyState === w.OPEN;
  };
  const out: number[] = [];
  for (let i = 0; i + 1 < n; i += 2) if (open(i) && open(i + 1)) out.push(i);
  return out;
}

async function fixedRate(msgsPerS: number, ms: number, measured = true) {
  // msgsPerS relayed frames = msgsPerS/2 offers, each answered
  phase = measured ? 'rate' : 'idle';
  received = 0;
  lat = [];
  const offersPerTick = msgsPerS / 2 / 100;
  const pairs = livePairs();
  let carry = 0,
    cursor = 0;
  const t0 = now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = ((now() - t0) / 10) * offersPerTick - carry; // catch up if a tick was late
      for (let k = 0; k < Math.floor(due); k++) {
        const i = pairs[(cursor = (cursor + 1) % pairs.length)]!; // even peers offer to their odd partner
        send(i, frame(cfg.kind, i, i + 1, 'offer'));
        carry++;
      }
      if (now() - t0 >= ms) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  await new Promise((r) => setTimeout(r, 500)); // drain: frames sent in the window still count
  return { sent_offers: carry, relayed: received, relayed_per_s: received / (ms / 1000), latencies: lat };
}

async function saturate(ms: number) {
  phase = 'sat';
  received = 0;
  lat = [];
  const t0 = now();
  for (const i of livePairs()) send(i, frame(cfg.kind, i, i + 1, 'offer'));
  await new Promise((r) => setTimeout(r, ms));
  const relayed = received;
  const elapsed = (now() - t0) / 1000;
  const l = lat;
  phase = 'idle'; // stop the loop
  return { relayed, relayed_per_s: relayed / elapsed, latencies: l };
}

const connectMs = await connectAll();
phase = 'idle';
out({ connected: openCount(), connect_ms: connectMs });
const stopHb = heartbeats();
const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
// The bench drives the measuring windows over stdin, alternating with the other server's generator.
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg] = line.trim().split(' ');
  const ms = Number(arg);
  if (cmd === 'warm') {
    await fixedRate(cfg.ratePerS, ms, false);
    out({ window: 'warm' });
  } else if (cmd === 'rate') {
    const r = await fixedRate(cfg.ratePerS, ms);
    out({ window: 'rate', relayed_per_s: r.relayed_per_s, latencies: round2(r.latencies) });
  } else if (cmd === 'sat') {
    const r = await saturate(ms);
    await new Promise((res) => setTimeout(res, 300));
    out({ window: 'sat', relayed_per_s: r.relayed_per_s, latencies: round2(r.latencies) });
  } else break;
}
stopHb();
out({ done: { connected: openCount(), errors, closed_early: closedEarly } });
for (const ws of socks) ws?.terminate();
process.exit(0);
