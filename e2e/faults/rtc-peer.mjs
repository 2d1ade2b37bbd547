// One raw WebRTC peer (node-datachannel's W3C polyfill) for lab checks, signaled over stdio by
// the test process in JSON lines. argv: <offer|answer> <iceServers JSON> <all|relay>.
// Out: {type:'description',sdp,sdpType} {type:'candidate',candidate,mid} {type:'open',local,remote}
//      {type:'echo'} {type:'state',state}. In: {type:'description',...} {type:'candidate',...}.
import { RTCPeerConnection } from 'node-datachannel/polyfill';
import readline from 'node:readline';

const [role, servers, policy] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
// node-datachannel's polyfill pastes username/credential into a `turn:user:pass@host` URL and
// libdatachannel URL-decodes them, so TURN REST usernames (`<expiry>:<user>`) and base64
// credentials (`/`, `+`, `=`) must be percent-encoded here (browsers take them as they are).
const iceServers = JSON.parse(servers).map((s) =>
  s.username ? { ...s, username: encodeURIComponent(s.username), credential: encodeURIComponent(s.credential) } : s,
);
const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy === 'relay' ? 'relay' : 'all' });
pc.onicecandidate = (e) => {
  if (e.candidate) out({ type: 'candidate', candidate: e.candidate.candidate, mid: e.candidate.sdpMid });
};
pc.onconnectionstatechange = () => out({ type: 'state', state: pc.connectionState });

async function report(dc) {
  const stats = await pc.getStats();
  let local = '',
    remote = '';
  stats.forEach((s) => {
    if (s.type === 'local-candidate') local = s.candidateType;
    if (s.type === 'remote-candidate') remote = s.candidateType;
  });
  out({ type: 'open', local, remote });
  dc.onmessage = (m) => {
    if (m.data === 'pong') out({ type: 'echo' });
    else dc.send('pong');
  };
  if (role === 'offer') dc.send('ping');
}

if (role === 'offer') {
  const dc = pc.createDataChannel('probe');
  dc.onopen = () => report(dc);
  await pc.setLocalDescription(await pc.createOffer());
  out({ type: 'description', sdp: pc.localDescription.sdp, sdpType: 'offer' });
} else {
  pc.ondatachannel = (e) => {
    const dc = e.channel;
    if (dc.readyState === 'open') report(dc);
    else dc.onopen = () => report(dc);
  };
}

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const m = JSON.parse(line);
  if (m.type === 'description') {
    await pc.setRemoteDescription({ type: m.sdpType, sdp: m.sdp });
    if (m.sdpType === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      out({ type: 'description', sdp: pc.localDescription.sdp, sdpType: 'answer' });
    }
  } else if (m.type === 'candidate') {
    await pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.mid }).catch((e) => out({ type: 'error', message: String(e) }));
  }
});
process.stdin.on('end', () => {
  pc.close();
  process.exit(0);
});
