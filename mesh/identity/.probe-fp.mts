import { RTCPeerConnection } from 'node-datachannel/polyfill';
import { extractFingerprints } from '/work/main/mesh/identity/link-proof.ts';
const o = new RTCPeerConnection(), a = new RTCPeerConnection(), c = new RTCPeerConnection();
o.createDataChannel('x'); c.createDataChannel('y');
await o.setLocalDescription(await o.createOffer());
await c.setLocalDescription(await c.createOffer());
await a.setRemoteDescription({ type: 'offer', sdp: o.localDescription!.sdp });
console.log(extractFingerprints(o.localDescription!.sdp), extractFingerprints(c.localDescription!.sdp), extractFingerprints(a.localDescription?.sdp ?? ''));
o.close(); a.close(); c.close();
