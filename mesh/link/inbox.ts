import { encodeControl, KIND_ACK, Reassembler, type BinaryFrame } from '../framing.ts';
import { InboundLedger } from './ledger.ts';
import { sendNow, type Wire } from './outbox.ts';

type ChunkFrame = Extract<BinaryFrame, { kind: 'chunk' }>;

/** Delay that coalesces the acks of a burst of messages into one ack frame. */
export const ACK_DELAY_MS = 50;

/**
 * The receiving half of a link: puts chunked messages back together and, on connections that
 * acknowledge, numbers every message to drop the duplicates a resend brings and acks what was
 * delivered (one ack frame per `ACK_DELAY_MS` at most, carrying the highest number).
 */
export class Inbox {
  readonly #ledger = new InboundLedger();
  readonly #reasm: Reassembler;
  #ackTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(maxMessageBytes: number) {
    this.#reasm = new Reassembler(maxMessageBytes);
  }

  /** A text frame (one whole message) arrived: true = deliver it, false = a duplicate. */
  text(wire: Wire): boolean {
    return this.#accept(wire);
  }

  /**
   * A chunk frame arrived: the message text once its last chunk is in (null before, and for a
   * duplicate). Throws FrameError for a bad or refused message.
   */
  chunk(wire: Wire, f: ChunkFrame): string | null {
    // The last chunk of a message counts as one message even when the message is refused, so the
    // implicit numbering stays in step with the sender.
    const last = f.offset + f.data.byteLength >= f.total;
    let text: string | null = null;
    try {
      text = this.#reasm.push(f);
    } finally {
      if (last && !this.#accept(wire)) text = null;
    }
    return text;
  }

  /** The remote's resume frame opens a connection: numbering continues at `firstSeq`; ack at once. */
  resume(wire: Wire, firstSeq: number, session: string): void {
    this.#ledger.resume(firstSeq, session);
    this.#scheduleAck(wire, 0);
  }

  /**
   * The connection is gone: partial messages go with it, and so does a pending ack (it could not
   * be sent on a closed connection, and would hold back the first ack on the next one).
   */
  reset(): void {
    this.#reasm.clear();
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
  }

  #accept(wire: Wire): boolean {
    if (!wire.has('ack')) return true;
    const seen = this.#ledger.accept();
    if (seen === 'new') this.#scheduleAck(wire, ACK_DELAY_MS);
    return seen !== 'duplicate';
  }

  #scheduleAck(wire: Wire, delayMs: number): void {
    if (this.#ackTimer) return;
    this.#ackTimer = setTimeout(() => {
      this.#ackTimer = null;
      if (!wire.closed) sendNow(wire, encodeControl(KIND_ACK, this.#ledger.delivered));
    }, delayMs);
  }
}
