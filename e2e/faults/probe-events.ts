// What the ledger listens to on any test agent (a sidecar's IpcProbe, a tab's TabProbe): its
// IPC events, and the moment its connection closed.
import type { PeerEvent } from '../../mesh/protocol/index.ts';

export class ProbeEvents {
  private listeners = new Set<(e: PeerEvent) => void>();
  private closeListeners = new Set<() => void>();
  protected closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  onEvent(fn: (e: PeerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called once when the connection closes (the peer died, or close()). */
  onClose(fn: () => void): () => void {
    if (this.closed) {
      fn();
      return () => {};
    }
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  protected emitEvent(e: PeerEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Marks the connection closed and tells the listeners, once. */
  protected markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l();
  }
}
