import { randomU32 } from '../ids.ts';
import { LinkError } from './link-error.ts';

/**
 * The bookkeeping of acknowledged delivery (capability `ack`, docs/protocol.md), kept across the
 * connections of one link. Pure: no channel, no timers but `waitForAck`'s.
 *
 * Outbound messages are numbered in channel order; each connection starts with a resume frame
 * (`session`, `firstSeq`); the remote acks the highest number it delivered. What is not acked when
 * a connection dies is resent on the next one; the receiver drops what it already delivered.
 */

/** Settles a `sendConfirmed` once the remote acknowledged the message (or the link gave up). */
export interface Confirm {
  resolve(): void;
  reject(err: Error): void;
  /** The link cannot acknowledge: handed to the channel is all we will know. */
  sent(): void;
}

export interface Unacked {
  readonly seq: number;
  readonly json: string;
  readonly confirm?: Confirm;
}

/** What we sent and the remote has not acknowledged yet. */
export class OutboundLedger {
  /** This sender's session id: a new one after a restart tells the receiver to start counting afresh. */
  readonly session: [number, number] = [randomU32(), randomU32()];
  #nextSeq = 1;
  #unacked: Unacked[] = [];
  #bytes = 0;
  #waiters: (() => void)[] = [];

  /** Unacknowledged bytes above which new messages wait (one message of any size may always be outstanding alone). */
  constructor(readonly maxUnackedBytes = 16 * 1024 * 1024) {}

  /** The number a resume frame announces: the oldest unacknowledged message, else the next new one. */
  get firstSeq(): number {
    return this.#unacked[0]?.seq ?? this.#nextSeq;
  }

  /** Texts to send again on a new connection, oldest first. */
  unacked(): string[] {
    return this.#unacked.map((u) => u.json);
  }

  get unackedBytes(): number {
    return this.#bytes;
  }

  /** Whether a message of `chars` may be numbered now without exceeding the bound. */
  hasRoom(chars: number): boolean {
    return this.#unacked.length === 0 || this.#bytes + chars <= Math.max(this.maxUnackedBytes, chars);
  }

  /** Resolves at the next acknowledgement, or after `ms` at the latest (the caller checks its link again). */
  waitForAck(ms = 500): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Numbers a message about to be handed to the channel. */
  track(json: string, confirm?: Confirm): Unacked {
    const entry: Unacked = { seq: this.#nextSeq++, json, ...(confirm && { confirm }) };
    this.#unacked.push(entry);
    this.#bytes += json.length;
    return entry;
  }

  /**
   * Forgets a message that did not fully reach the channel: its sender gets the error, so it is not
   * resent (the receiver sees a gap only if a chunked message was cut; it resynchronizes at the next
   * resume frame).
   */
  untrack(entry: Unacked): void {
    const i = this.#unacked.indexOf(entry);
    if (i < 0) return;
    this.#unacked.splice(i, 1);
    this.#bytes -= entry.json.length;
  }

  /** The remote delivered every message up to `seq`. */
  ack(seq: number): void {
    let n = 0;
    while (n < this.#unacked.length && this.#unacked[n]!.seq <= seq) {
      this.#bytes -= this.#unacked[n]!.json.length;
      n++;
    }
    if (n) for (const u of this.#unacked.splice(0, n)) u.confirm?.resolve();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /**
   * Gives up on every unacknowledged message (the link is closed for good). Returns the texts whose
   * senders do not wait for a confirmation; those that do get `link_lost` from their own promise.
   */
  giveUp(reason: string): string[] {
    const gone = this.#unacked;
    this.#unacked = [];
    this.#bytes = 0;
    for (const u of gone) u.confirm?.reject(new LinkError('link_lost', reason));
    return gone.filter((u) => !u.confirm).map((u) => u.json);
  }
}

/** What we delivered from the remote, to drop the messages it resends after a reconnection. */
export class InboundLedger {
  #session: string | undefined;
  #delivered = 0;
  #expect: number | undefined;

  /** The highest number delivered: what an ack frame carries. */
  get delivered(): number {
    return this.#delivered;
  }

  /** The remote's resume frame: its numbering continues at `firstSeq` on this connection. */
  resume(firstSeq: number, session: string): void {
    if (session !== this.#session) {
      // A new sender (first connection, or the remote restarted): start its numbering here.
      this.#session = session;
      this.#delivered = firstSeq - 1;
    }
    this.#expect = firstSeq;
  }

  /**
   * Numbers one inbound message: `new` (deliver and ack it), `duplicate` (delivered before: drop
   * it), or `unnumbered` (no resume frame yet: deliver, nothing to ack).
   */
  accept(): 'new' | 'duplicate' | 'unnumbered' {
    if (this.#expect === undefined) return 'unnumbered';
    const seq = this.#expect++;
    if (seq <= this.#delivered) return 'duplicate';
    this.#delivered = seq;
    return 'new';
  }
}
