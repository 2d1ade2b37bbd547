// Message accounting for fault tests: every probe message carries a unique request_id; it is
// `delivered` when the target agent reads it, `failed` when the sending agent got an IPC `error`
// naming that request_id, and `lost` when neither happened — the number that must stay 0.
// Probe messages ask for the sidecar's acknowledgement (ack_id = request_id), as the agent SDK
// does with `acks`: when the sender's IPC socket closes (its sidecar was killed) with messages the
// sidecar never confirmed, the sender knows those may not have gone out — the SDK reports each as
// an error (code `closed`), and so does the ledger. A confirmed message is never counted failed
// that way: it is the mesh's to deliver or to report.
import type { IpcProbe } from './ipc-probe.ts';

/** What the ledger needs of an agent: a sidecar's IpcProbe, or a tab's worker agent (tab.ts). */
export type LedgerProbe = Pick<IpcProbe, 'send' | 'onEvent' | 'onClose'>;

export const PROBE_TYPE = 'fault_probe';

interface Sent {
  from: string;
  to: string;
  at: number;
}

export interface LedgerCounts {
  sent: number;
  delivered: number;
  failed: number;
  lost: number;
  duplicates: number;
  /** messages a receiving agent was told were dropped because it did not read (queue_overflow) */
  overflow_reported: number;
}

export class Ledger {
  readonly sent = new Map<string, Sent>();
  readonly delivered = new Set<string>();
  readonly failed = new Map<string, string>();
  duplicates = 0;
  /** ids delivered more than once, with when each copy arrived */
  readonly duplicateIds = new Map<string, number[]>();
  readonly deliveredAt = new Map<string, number>();
  overflowReported = 0;
  /** queue_overflow counts by the peer whose agent was told */
  readonly overflowBy = new Map<string, number>();
  /** ids the sending sidecar acknowledged (the remote peer holds them) */
  readonly confirmed = new Set<string>();
  /** ids sent through each probe and not yet confirmed or failed */
  private unconfirmed = new Map<LedgerProbe, Set<string>>();
  /** errors that named no request_id (e.g. broadcast), kept for diagnostics */
  readonly otherErrors: string[] = [];
  private seq = 0;

  /** Counts what `probe` (the agent on peer `peerId`) receives and the errors it is told about. */
  attach(probe: LedgerProbe, peerId: string): () => void {
    const mine = new Set<string>();
    this.unconfirmed.set(probe, mine);
    const offClose = probe.onClose(() => {
      for (const id of mine) {
        if (!this.failed.has(id)) this.failed.set(id, `closed: the IPC connection closed before the sidecar confirmed ${id}`);
      }
      mine.clear();
      this.unconfirmed.delete(probe);
    });
    const offEvent = probe.onEvent((e) => {
      if (e.type === 'ack') {
        mine.delete(e.payload.ack_id);
        this.confirmed.add(e.payload.ack_id);
      } else if (e.type === 'message') {
        const m = e.payload.message;
        if (m.type !== PROBE_TYPE || !m.request_id) return;
        const s = this.sent.get(m.request_id);
        if (!s || s.to !== peerId) return;
        if (this.delivered.has(m.request_id)) {
          this.duplicates++;
          this.duplicateIds.set(m.request_id, [...(this.duplicateIds.get(m.request_id) ?? [this.deliveredAt.get(m.request_id)!]), Date.now()]);
        } else {
          this.delivered.add(m.request_id);
          this.deliveredAt.set(m.request_id, Date.now());
        }
      } else if (e.type === 'error') {
        const p = e.payload as { code: string; message: string; request_id?: unknown };
        if (p.code === 'queue_overflow') {
          const n = Number(/^(\d+)/.exec(p.message)?.[1] ?? 0);
          this.overflowReported += n;
          this.overflowBy.set(peerId, (this.overflowBy.get(peerId) ?? 0) + n);
        } else if (typeof p.request_id === 'string' && this.sent.has(p.request_id)) {
          mine.delete(p.request_id);
          this.failed.set(p.request_id, `${p.code}: ${p.message}`);
        } else if (this.otherErrors.length < 200) {
          this.otherErrors.push(`${peerId} ${p.code}: ${p.message}`);
        }
      }
    });
    return () => {
      offEvent();
      offClose();
    };
  }

  /** Sends one probe message from `probe` (on peer `from`) to peer `to`; returns its id. */
  send(probe: LedgerProbe, from: string, to: string, body = '', targetAgent?: string): string {
    const id = `${from}-${++this.seq}`;
    this.sent.set(id, { from, to, at: Date.now() });
    this.unconfirmed.get(probe)?.add(id);
    this.lastWriteOk = probe.send(to, { type: PROBE_TYPE, request_id: id, ...(targetAgent && { target_agent: targetAgent }), payload: { body } }, id);
    return id;
  }

  /** whether the last send's socket write went through without backing up */
  lastWriteOk = true;

  /** Sent messages that are neither delivered nor failed (yet). */
  outstanding(): string[] {
    return [...this.sent.keys()].filter((id) => !this.delivered.has(id) && !this.failed.has(id));
  }

  counts(): LedgerCounts {
    const sent = this.sent.size;
    const delivered = this.delivered.size;
    const failed = [...this.failed.keys()].filter((id) => !this.delivered.has(id)).length;
    return { sent, delivered, failed, lost: sent - delivered - failed, duplicates: this.duplicates, overflow_reported: this.overflowReported };
  }

  /**
   * Waits until every sent message is delivered or failed (or, with `countOverflow`, also covered
   * by a receiver's queue_overflow count), or the deadline passes.
   */
  async settle(timeoutMs: number, opts: { countOverflow?: boolean } = {}): Promise<LedgerCounts> {
    const deadline = Date.now() + timeoutMs;
    const open = () => {
      const c = this.counts();
      return opts.countOverflow ? c.lost - c.overflow_reported > 0 : c.lost > 0;
    };
    while (open() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return this.counts();
  }
}
