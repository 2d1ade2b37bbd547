import { encodeFrames, encodeResume, type Capability, type WireFrame } from '../framing.ts';
import { LIMITS } from '../protocol/index.ts';
import { LinkError } from './link-error.ts';
import { OutboundLedger, type Confirm } from './ledger.ts';

/** The part of an RTCDataChannel the outbox writes to (a fake one in unit tests). */
export interface ChannelLike {
  readonly readyState: RTCDataChannelState;
  readonly bufferedAmount: number;
  readonly bufferedAmountLowThreshold: number;
  send(data: WireFrame): void;
  addEventListener(type: 'bufferedamountlow', fn: () => void): void;
  removeEventListener(type: 'bufferedamountlow', fn: () => void): void;
}

/** One connection as the outbox sees it (link/connection.ts's Connection fits). */
export interface Wire {
  readonly closed: boolean;
  readonly dc: ChannelLike | null;
  has(cap: Capability): boolean;
}

export interface OutboxOptions {
  remoteId: string;
  /** Largest message accepted for sending (default LIMITS.meshMessageBytes). */
  maxMessageBytes?: number | undefined;
  /** Message bytes waiting for the channel before `send` fails with `queue_full` (default 16 MiB). */
  maxQueuedBytes?: number | undefined;
  /** bufferedAmount above which frames wait for `bufferedamountlow` (default 1 MiB). */
  highWaterBytes?: number | undefined;
}

/**
 * The sending half of a link: frames each message, hands the frames to the channel in order with
 * back-pressure, bounds what waits in memory, and — on connections that acknowledge — keeps every
 * message in the ledger until the remote acks it, resending it on the next connection.
 */
export class Outbox {
  readonly #ledger = new OutboundLedger();
  readonly #remoteId: string;
  readonly #maxMessageBytes: number;
  readonly #maxQueuedBytes: number;
  readonly #highWaterBytes: number;
  #chain: Promise<void> = Promise.resolve();
  #queuedBytes = 0;
  #msgId = 0;

  constructor(o: OutboxOptions) {
    this.#remoteId = o.remoteId;
    this.#maxMessageBytes = o.maxMessageBytes ?? LIMITS.meshMessageBytes;
    this.#maxQueuedBytes = o.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.#highWaterBytes = o.highWaterBytes ?? 1 << 20;
  }

  /** The channel's `bufferedAmountLowThreshold`: a quarter of the high-water mark. */
  get lowWaterBytes(): number {
    return Math.floor(this.#highWaterBytes / 4);
  }

  /**
   * Sends one serialized MeshMessage after every earlier one. Resolves once all its frames are
   * handed to the channel; rejects when it is too large, too much waits already (`queue_full`), or
   * the connection goes down first (`link_lost`).
   */
  send(wire: Wire, json: string, confirm?: Confirm): Promise<void> {
    let frames: WireFrame[];
    try {
      frames = this.#encode(json, wire.has('chunk'));
    } catch (err) {
      return Promise.reject(err);
    }
    const size = json.length;
    if (this.#queuedBytes + size > this.#maxQueuedBytes && this.#queuedBytes > 0) {
      return Promise.reject(new LinkError('queue_full', `send queue to ${this.#remoteId} is full (${this.#queuedBytes} bytes waiting)`));
    }
    this.#queuedBytes += size;
    return this.#after(() => this.#deliver(wire, json, frames, confirm)).finally(() => {
      this.#queuedBytes -= size;
    });
  }

  /**
   * Like `send`, but resolves once the remote acknowledged the message (`'peer'`, across
   * reconnections and resends) or, on a connection that cannot acknowledge, once it is handed to
   * the channel (`'sent'`). Rejects with `link_lost` when the link gives up on it.
   */
  sendConfirmed(wire: Wire, json: string): Promise<'peer' | 'sent'> {
    let confirm!: Confirm;
    const confirmed = new Promise<'peer' | 'sent'>((resolve, reject) => {
      confirm = { resolve: () => resolve('peer'), reject, sent: () => resolve('sent') };
    });
    return this.send(wire, json, confirm).then(() => confirmed);
  }

  /**
   * A new connection that acknowledges is open: before anything else on it, where our numbering
   * continues, then whatever the last connection took but never acknowledged (the receiver drops
   * what it already has). Returns how many messages are resent.
   */
  resume(wire: Wire): number {
    sendNow(wire, encodeResume(this.#ledger.firstSeq, this.#ledger.session));
    const resend = this.#ledger.unacked();
    if (resend.length) {
      void this.#after(async () => {
        for (const json of resend) await this.#write(wire, this.#encode(json, true));
      });
    }
    return resend.length;
  }

  /** The remote acknowledged every message up to `seq`. */
  ack(seq: number): void {
    this.#ledger.ack(seq);
  }

  /**
   * Gives up on every unacknowledged message (the link is closed for good, or the new connection
   * cannot acknowledge). Returns the texts nobody waits a confirmation for: report them.
   */
  giveUp(reason: string): string[] {
    return this.#ledger.giveUp(reason);
  }

  #encode(json: string, remoteChunks: boolean): WireFrame[] {
    return encodeFrames(json, ++this.#msgId >>> 0, this.#maxMessageBytes, remoteChunks);
  }

  /** Runs `job` after every earlier one; a failed job never stops the ones behind it. */
  #after(job: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(job);
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Sends one new message; on acknowledging connections it stays in the ledger until the remote acks it. */
  async #deliver(wire: Wire, json: string, frames: WireFrame[], confirm: Confirm | undefined): Promise<void> {
    if (!wire.has('ack')) {
      await this.#write(wire, frames);
      return confirm?.sent();
    }
    // Bounded memory: wait for acknowledgements when too much is outstanding.
    while (!this.#ledger.hasRoom(json.length)) {
      if (wire.closed) throw this.#lost();
      await this.#ledger.waitForAck();
    }
    if (wire.closed || wire.dc?.readyState !== 'open') throw this.#lost();
    const entry = this.#ledger.track(json, confirm);
    try {
      await this.#write(wire, frames);
    } catch (err) {
      this.#ledger.untrack(entry);
      throw err;
    }
  }

  async #write(wire: Wire, frames: WireFrame[]): Promise<void> {
    for (const frame of frames) {
      const dc = wire.dc;
      if (wire.closed || !dc || dc.readyState !== 'open') throw this.#lost();
      if (dc.bufferedAmount > this.#highWaterBytes) await waitLow(wire, dc);
      if (wire.closed || dc.readyState !== 'open') throw this.#lost();
      dc.send(frame);
    }
  }

  #lost(): LinkError {
    return new LinkError('link_lost', `link to ${this.#remoteId} went down while sending`);
  }
}

/** A frame straight onto the channel, ahead of queued messages: control frames (resume, ack, ping, pong) and identity frames. */
export function sendNow(wire: Wire, frame: WireFrame): void {
  try {
    if (wire.dc?.readyState === 'open') wire.dc.send(frame);
  } catch {
    /* the failure path handles a dead channel */
  }
}

/** Waits for `bufferedamountlow`, or rejects when the connection dies first (checked every second). */
function waitLow(wire: Wire, dc: ChannelLike): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearInterval(check);
      dc.removeEventListener('bufferedamountlow', done);
      resolve();
    };
    const check = setInterval(() => {
      if (wire.closed || dc.readyState !== 'open') {
        clearInterval(check);
        dc.removeEventListener('bufferedamountlow', done);
        reject(new LinkError('link_lost', 'link went down while waiting to send'));
      } else if (dc.bufferedAmount <= dc.bufferedAmountLowThreshold) done();
    }, 1_000);
    dc.addEventListener('bufferedamountlow', done);
  });
}
