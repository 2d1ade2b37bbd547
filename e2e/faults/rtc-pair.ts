// Connects two raw WebRTC peers (rtc-peer.mjs) running in two lab hosts, relaying their SDP and
// candidates over stdio. Used to check the lab itself (UDP blocks, TURN relaying) without the product.
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Lab, LabHost, LabProcess } from './netns.ts';

const PEER = fileURLToPath(new URL('./rtc-peer.mjs', import.meta.url));

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface RtcPairResult {
  /** the DataChannel opened and a ping came back */
  echoed: boolean;
  /** candidate types of the selected pair, seen by the offerer */
  local?: string | undefined;
  remote?: string | undefined;
  candidates: string[];
}

export async function rtcPair(
  lab: Lab,
  a: LabHost,
  b: LabHost,
  opts: { iceServers?: IceServer[]; policy?: 'all' | 'relay'; timeoutMs: number },
): Promise<RtcPairResult> {
  const args = (role: string) => [PEER, role, JSON.stringify(opts.iceServers ?? []), opts.policy ?? 'all'];
  const procs: LabProcess[] = [
    lab.spawn(a.ns, process.execPath, args('offer'), { stdio: ['pipe', 'pipe', 'pipe'] }),
    lab.spawn(b.ns, process.execPath, args('answer'), { stdio: ['pipe', 'pipe', 'pipe'] }),
  ];
  const result: RtcPairResult = { echoed: false, candidates: [] };
  try {
    return await new Promise<RtcPairResult>((resolve) => {
      const timer = setTimeout(() => resolve(result), opts.timeoutMs);
      procs.forEach((p, i) => {
        const other = procs[1 - i]!;
        readline.createInterface({ input: p.child.stdout! }).on('line', (line) => {
          let m: { type: string; candidate?: string; local?: string; remote?: string };
          try {
            m = JSON.parse(line);
          } catch {
            return;
          }
          if (m.type === 'description' || m.type === 'candidate') other.child.stdin!.write(line + '\n');
          if (m.type === 'candidate' && i === 0) result.candidates.push(m.candidate!);
          if (m.type === 'open' && i === 0) {
            result.local = m.local;
            result.remote = m.remote;
          }
          if (m.type === 'echo') {
            result.echoed = true;
            clearTimeout(timer);
            resolve(result);
          }
        });
      });
    });
  } finally {
    for (const p of procs) {
      p.child.stdin?.end();
      p.child.kill('SIGKILL');
    }
    await Promise.all(procs.map((p) => p.exited));
  }
}
