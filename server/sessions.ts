import type { RevokedNotice } from '../mesh/protocol/index.ts';

type End = (notice: RevokedNotice) => void;

/**
 * Live event streams by peer id (the `/ws` sockets are tracked by the signaling hub), so that a
 * revocation ends every stream of the revoked peer on this instance.
 */
export class LiveSessions {
  readonly #byPeer = new Map<string, Set<End>>();

  /** Registers a stream; the returned function unregisters it. */
  add(peerId: string, end: End): () => void {
    let set = this.#byPeer.get(peerId);
    if (!set) this.#byPeer.set(peerId, (set = new Set()));
    set.add(end);
    return () => {
      set.delete(end);
      if (set.size === 0 && this.#byPeer.get(peerId) === set) this.#byPeer.delete(peerId);
    };
  }

  /** Ends every stream of the peer with the notice. */
  end(peerId: string, notice: RevokedNotice): void {
    for (const end of [...(this.#byPeer.get(peerId) ?? [])]) end(notice);
  }
}
