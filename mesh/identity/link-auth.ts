import type { IdentityRefusedFrame } from '../protocol/identity.ts';
import type { DeviceIdentity } from './keys.ts';
import type { KnownPeers, PeerCheck } from './known-peers.ts';
import { createLinkProof, extractFingerprints, type LinkEnds } from './link-proof.ts';

/** The two descriptions of one RTCPeerConnection (browser or node-datachannel polyfill). */
export interface DescribedConnection {
  readonly localDescription: { sdp: string } | null;
  readonly remoteDescription: { sdp: string } | null;
}

/**
 * What the mesh core needs per link, with local/remote taken from the connection itself so a
 * caller cannot mix them up: `proofFrame` on DataChannel open, `check` on the first text frame.
 */
interface LinkAuthOptions {
  localPeerId: string;
  identity: DeviceIdentity;
  /** The current certificate of this device (it may be renewed while running). */
  certificate: () => string | undefined;
  knownPeers: KnownPeers;
}

export class LinkAuthenticator {
  readonly #o: LinkAuthOptions;
  constructor(o: LinkAuthOptions) {
    this.#o = o;
  }

  /** Text frame to send as the first message on a newly opened DataChannel. */
  async proofFrame(remotePeerId: string, pc: DescribedConnection): Promise<string> {
    const certificate = this.#o.certificate();
    if (!certificate) throw new Error('this device has no certificate yet: pair it or request one from the registry');
    return JSON.stringify(await createLinkProof(this.#o.identity, certificate, this.#ends(remotePeerId, pc)));
  }

  /** Verifies the remote's first text frame (pinned CA, channel binding, TOFU). */
  check(remotePeerId: string, pc: DescribedConnection, text: string): Promise<PeerCheck> {
    return this.#o.knownPeers.verifyPeer(text, this.#ends(remotePeerId, pc));
  }

  /**
   * The DTLS fingerprints a proof bound, as one string. Keep it when the link is verified; after
   * any renegotiation (ICE restart) compare again: if it changed, the DTLS identity of the link
   * changed under the proof, so close the link (a fresh connection proves again).
   */
  static fingerprintsOf(pc: DescribedConnection): string {
    return `${extractFingerprints(pc.localDescription?.sdp ?? '').join(',')}|${extractFingerprints(pc.remoteDescription?.sdp ?? '').join(',')}`;
  }

  /** Frame to send before closing a link whose proof failed (also as a method: PeerLink's `LinkAuth`). */
  refusal(check: { reason: string; message: string }): string {
    return LinkAuthenticator.refusal(check);
  }

  static refusal(check: { reason: string; message: string }): string {
    const frame: IdentityRefusedFrame = { type: 'identity_refused', reason: check.reason.slice(0, 64), message: check.message.slice(0, 1024) };
    return JSON.stringify(frame);
  }

  #ends(remotePeerId: string, pc: DescribedConnection): LinkEnds {
    return {
      localPeerId: this.#o.localPeerId,
      remotePeerId,
      localSdp: pc.localDescription?.sdp ?? '',
      remoteSdp: pc.remoteDescription?.sdp ?? '',
    };
  }
}
