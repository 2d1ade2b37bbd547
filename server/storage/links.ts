import type { Db } from './db.ts';
import type { LinkPath, LinkReport, MeshEdge } from '../../mesh/protocol/index.ts';

interface LinkRow {
  from_peer: string;
  to_peer: string;
  path: LinkPath;
  rtt_ms: number | null;
  updated_at: number;
}

/** Open DataChannels as peers report them in heartbeats: the edges of the topology. */
export class LinkStore {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** A report is the reporting peer's full set of open links: it replaces the previous one. */
  async replace(fromPeer: string, links: LinkReport[], now: number): Promise<void> {
    await this.#db.query('DELETE FROM links WHERE from_peer = $1', [fromPeer]);
    const seen = new Set<string>();
    for (const l of links) {
      if (l.peer_id === fromPeer || seen.has(l.peer_id)) continue;
      seen.add(l.peer_id);
      await this.#db.query('INSERT INTO links (from_peer, to_peer, path, rtt_ms, updated_at) VALUES ($1, $2, $3, $4, $5)', [
        fromPeer,
        l.peer_id,
        l.path,
        l.rtt_ms ?? null,
        now,
      ]);
    }
  }

  /** A revoked peer's links leave the topology, both directions. */
  async deletePeer(peerId: string): Promise<void> {
    await this.#db.query('DELETE FROM links WHERE from_peer = $1 OR to_peer = $1', [peerId]);
  }

  /** Edges reported since `since`, one per pair of peers (the freshest report wins). */
  async edges(since: number): Promise<MeshEdge[]> {
    const rows = await this.#db.query<LinkRow>('SELECT * FROM links WHERE updated_at >= $1 ORDER BY updated_at DESC', [since]);
    const byPair = new Map<string, MeshEdge>();
    for (const r of rows) {
      const pair = [r.from_peer, r.to_peer].sort().join('\n');
      if (byPair.has(pair)) continue;
      byPair.set(pair, {
        from_peer: r.from_peer,
        to_peer: r.to_peer,
        path: r.path,
        ...(r.rtt_ms === null ? {} : { rtt_ms: r.rtt_ms }),
        updated_at: r.updated_at,
      });
    }
    return [...byPair.values()];
  }
}
