/**
 * A bare WebRTC peer: the baseline the mesh is measured against. Written against the W3C API only,
 * so the same code runs in Chromium (native) and in Node (node-datachannel/polyfill).
 *
 * What it does, and nothing more: joins the minimal relay, offers to every peer already there (the
 * joiner offers, so there is no glare), answers offers, opens one DataChannel per pair, and reports
 * each open to the bench controller ("ctl"). The controller then asks it to ping or to blast bytes.
 * ICE: both sides wait for host-candidate gathering (milliseconds on loopback without STUN); the
 * offerer sends its offer WITHOUT candidates and sends them only after it has applied the answer,
 * so the answerer cannot start DTLS before the offerer is ready — docs/protocol.md (Trickle ICE, held) says why:
 * node-datachannel otherwise loses the first ClientHello and waits 1 s for the retransmit. A link
 * that fails is started over by its offerer (reported as a retry), as any real app would.
 *
 * Channel protocol: "p…" strings are echoed back as "q…"; "T<n>" announces n binary bytes, and
 * the receiver answers "D" once it has them all.
 */

export interface PeerEnv {
  RTCPeerConnection: new (cfg?: RTCConfiguration) => RTCPeerConnection;
  WebSocket: new (url: string) => WebSocket;
  /** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
  now(): number;
  exit(): void;
}

interface Link {
  pc: RTCPeerConnection;
  dc?: RTCDataChannel;
  offerer: boolean;
  pending: RTCIceCandidateInit[];
  held: RTCIceCandidateInit[];
}

type Cmd =
  | { type: 'ping'; target: string; n: number; size?: number; req: number }
  | { type: 'throughput'; target: string; bytes: number; chunk: number; req: number; high?: number; low?: number }
  | { type: 'close' };

export function runBarePeer(env: PeerEnv, relayUrl: string, id: string): void {
  const links = new Map<string, Link>();
  const ws = new env.WebSocket(`${relayUrl}/?id=${encodeURIComponent(id)}`);
  const toRelay = (m: object) => ws.send(JSON.stringify(m));
  const report = (m: object) => toRelay({ to: 'ctl', ...m });
  const waiters = new Map<string, (data: string) => void>();

  function link(remote: string, offerer: boolean): Link {
    const pc = new env.RTCPeerConnection({ iceServers: [] });
    links.get(remote)?.pc.close();
    const l: Link = { pc, offerer, pending: [], held: [] };
    links.set(remote, l);
    pc.onicecandidate = (e) => {
      // Candidates travel inside the SDP (see gathered()); nothing is trickled.
      void e;
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && links.get(remote) === l) retry(remote, l, 'connection failed');
    };
    const attach = (dc: RTCDataChannel) => {
      l.dc = dc;
      dc.binaryType = 'arraybuffer';
      dc.onopen = () => report({ type: 'open', remote, t: env.now() });
      let expect = 0,
        got = 0;
      dc.onmessage = (e) => {
        const d = e.data;
        if (typeof d === 'string') {
          if (d[0] === 'p') dc.send('q' + d.slice(1));
          else if (d[0] === 'T') {
            expect = Number(d.slice(1));
            got = 0;
          } else {
            const w = waiters.get(remote);
            if (w) w(d);
          }
        } else {
          got += (d as ArrayBuffer).byteLength;
          if (expect > 0 && got >= expect) {
            expect = 0;
            dc.send('D');
          }
        }
      };
      if (dc.readyState === 'open') report({ type: 'open', remote, t: env.now() });
    };
    if (offerer) attach(pc.createDataChannel('bench'));
    else pc.ondatachannel = (e) => attach(e.channel);
    return l;
  }

  async function onSignal(m: { type: string; from: string; sdp?: string; c?: RTCIceCandidateInit }) {
    if (m.type === 'offer') {
      const l = link(m.from, false);
      await l.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp! });
      for (const c of l.pending.splice(0)) await l.pc.addIceCandidate(c);
      const answer = await l.pc.createAnswer();
      await l.pc.setLocalDescription(answer);
      await gathered(l.pc);
      toRelay({ to: m.from, type: 'answer', sdp: l.pc.localDescription?.sdp ?? answer.sdp });
    } else if (m.type === 'answer') {
      const l = links.get(m.from);
      if (!l) return;
      try {
        await l.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp! });
      } catch (e) {
        return retry(m.from, l, String(e));
      }
      for (const c of l.held.splice(0)) toRelay({ to: m.from, type: 'cand', c });
      for (const c of l.pending.splice(0)) await l.pc.addIceCandidate(c);
    } else if (m.type === 'cand') {
      const l = links.get(m.from);
      if (!l) return;
      if (l.pc.remoteDescription) await l.pc.addIceCandidate(m.c!);
      else l.pending.push(m.c!);
    }
  }

  /**
   * node-datachannel sometimes refuses an answer ("remote candidate without ICE transport") or a
   * link fails its DTLS handshake when many connects run at once; any real app retries, so the
   * baseline does too: the offering side starts the link over. Each retry is reported.
   */
  function retry(remote: string, l: Link, why: string) {
    report({ type: 'retry', remote, why });
    if (!l.offerer || links.get(remote) !== l) return;
    setTimeout(() => {
      if (links.get(remote) === l) void offer(remote);
    }, 50);
  }

  async function offer(remote: string) {
    const l = link(remote, true);
    const o = await l.pc.createOffer();
    // node-datachannel already applied its offer (auto-negotiation); applying it again races it.
    if (!l.pc.localDescription?.sdp) await l.pc.setLocalDescription(o);
    await gathered(l.pc);
    // The offer goes without its candidates; they follow once the answer is applied (see header).
    const sdp = l.pc.localDescription?.sdp ?? o.sdp ?? '';
    l.held = sdp
      .split(/\r?\n/)
      .filter((x) => x.startsWith('a=candidate:'))
      .map((x) => ({ candidate: x.slice(2), sdpMid: mid(sdp) }));
    toRelay({
      to: remote,
      type: 'offer',
      sdp: sdp
        .split(/\r?\n/)
        .filter((x) => !x.startsWith('a=candidate:'))
        .join('\r\n'),
    });
  }

  const mid = (sdp: string) => /^a=mid:(.*)$/m.exec(sdp)?.[1]?.trim() ?? '0';

  /** Non-trickle ICE: on loopback without STUN, gathering host candidates takes milliseconds. */
  function gathered(pc: RTCPeerConnection): Promise<void> {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (pc.iceGatheringState === 'complete') {
          pc.removeEventListener('icegatheringstatechange', check);
          resolve();
        }
      };
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  function nextString(remote: string): Promise<string> {
    return new Promise((resolve) =>
      waiters.set(remote, (d) => {
        waiters.delete(remote);
        resolve(d);
      }),
    );
  }

  async function ping(c: Extract<Cmd, { type: 'ping' }>) {
    const dc = links.get(c.target)?.dc;
    if (dc?.readyState !== 'open') return report({ type: 'result', req: c.req, error: `no open channel to ${c.target}` });
    const pad = 'x'.repeat(Math.max(0, (c.size ?? 64) - 16));
    const rtts: number[] = [];
    for (let i = 0; i < c.n; i++) {
      const t = env.now();
      const reply = nextString(c.target);
      dc.send(`p${i}:${pad}`);
      await reply;
      rtts.push(env.now() - t);
    }
    report({ type: 'result', req: c.req, rtts });
  }

  async function throughput(c: Extract<Cmd, { type: 'throughput' }>) {
    const dc = links.get(c.target)?.dc;
    if (dc?.readyState !== 'open') return report({ type: 'result', req: c.req, error: `no open channel to ${c.target}` });
    const chunk = new Uint8Array(c.chunk);
    const high = c.high ?? 4 * 1024 * 1024;
    dc.bufferedAmountLowThreshold = c.low ?? 1024 * 1024;
    const done = nextString(c.target);
    const t = env.now();
    dc.send('T' + c.bytes);
    try {
      for (let sent = 0; sent < c.bytes; ) {
        if (dc.bufferedAmount > high) {
          await new Promise<void>((r) => {
            dc.onbufferedamountlow = () => {
              dc.onbufferedamountlow = null;
              r();
            };
          });
        }
        const n = Math.min(c.chunk, c.bytes - sent);
        dc.send(n === c.chunk ? chunk : chunk.subarray(0, n));
        sent += n;
      }
    } catch (e) {
      return report({ type: 'result', req: c.req, error: String(e) });
    }
    await done;
    report({ type: 'result', req: c.req, ms: env.now() - t, bytes: c.bytes });
  }

  ws.onopen = () => report({ type: 'ready', t: env.now() });
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data));
    if (m.type === 'peers') {
      void (async () => {
        for (const p of m.peers as string[]) await offer(p);
      })();
      return;
    }
    if (m.from === 'ctl') {
      const c = m as Cmd;
      if (c.type === 'ping') void ping(c);
      else if (c.type === 'throughput') void throughput(c);
      else if (c.type === 'close') {
        for (const l of links.values()) {
          try {
            l.dc?.close();
            l.pc.close();
          } catch {
            /* closing anyway */
          }
        }
        try {
          ws.close();
        } catch {
          /* closing anyway */
        }
        env.exit();
      }
      return;
    }
    if ((globalThis as any).process?.env?.BARE_DEBUG) console.error(id, 'got', m.type, m.from ?? '', m.peers ?? '');
    if (m.from) void onSignal(m).catch((err) => report({ type: 'error', message: `${m.type} from ${m.from}: ${String(err)}` }));
  };
}
