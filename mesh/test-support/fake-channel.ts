/** Test-only: a DataChannel stand-in for the link's pure units (outbox, inbox), no WebRTC. */
import type { Capability, WireFrame } from '../framing.ts';
import type { Wire } from '../link/outbox.ts';

export class FakeChannel extends EventTarget {
  readyState: RTCDataChannelState = 'open';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readonly sent: WireFrame[] = [];

  send(data: WireFrame): void {
    if (this.readyState !== 'open') throw new Error('channel is not open');
    this.sent.push(data);
    this.bufferedAmount += typeof data === 'string' ? data.length : data.byteLength;
  }

  /** The network took everything: bufferedAmount drops to 0 and `bufferedamountlow` fires. */
  drain(): void {
    this.bufferedAmount = 0;
    this.dispatchEvent(new Event('bufferedamountlow'));
  }
}

/** A connection as the outbox and inbox see it: a channel, the remote's capabilities, closed or not. */
export function fakeWire(caps: Capability[] = ['chunk', 'keepalive', 'ack']): Wire & { dc: FakeChannel; closed: boolean } {
  return { dc: new FakeChannel(), closed: false, has: (cap) => caps.includes(cap) };
}
