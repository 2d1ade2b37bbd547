import type { Db } from './db.ts';
import type { AgentCapabilities, AgentRecord, Health } from '../../mesh/protocol/index.ts';

/** What is stored per agent besides its health timestamps. */
export interface AgentInfo {
  agent_id: string;
  hostname: string;
  ip: string;
  port: number;
  sidecar_peer_id: string;
  capabilities: AgentCapabilities;
  status: string;
  mode: string;
  description?: string | undefined;
}

interface AgentRow {
  agent_id: string;
  peer_id: string;
  owner: string;
  info: AgentInfo;
  registered_at: number;
  last_heartbeat: number;
  last_routed: number;
}

export interface HealthTimers {
  staleS: number;
  offlineS: number;
}

export function healthOf(lastHeartbeat: number, now: number, t: HealthTimers): Health {
  const age = now - lastHeartbeat;
  if (age > t.offlineS) return 'offline';
  if (age > t.staleS) return 'stale';
  return 'active';
}

const iso = (s: number) => new Date(s * 1000).toISOString();

export interface StoredAgent {
  record: AgentRecord;
  owner: string;
}

/** Agents and their heartbeat times; health is derived from the time at read. */
export class AgentStore {
  readonly #db: Db;
  readonly #timers: HealthTimers;

  constructor(db: Db, timers: HealthTimers) {
    this.#db = db;
    this.#timers = timers;
  }

  #toStored(row: AgentRow, now: number): StoredAgent {
    const info = typeof row.info === 'string' ? (JSON.parse(row.info) as AgentInfo) : row.info;
    return {
      owner: row.owner,
      record: {
        ...info,
        peer_id: row.peer_id,
        health: healthOf(row.last_heartbeat, now, this.#timers),
        registered_at: iso(row.registered_at),
        last_heartbeat: iso(row.last_heartbeat),
      },
    };
  }

  /** Inserts or replaces an agent with its owner (the caller decides it: server/routes/agents.ts ownAgentId). */
  async upsert(info: AgentInfo, peerId: string, owner: string, now: number): Promise<StoredAgent> {
    const rows = await this.#db.query<AgentRow>(
      `INSERT INTO agents (agent_id, peer_id, owner, info, registered_at, last_heartbeat)
       VALUES ($1, $2, $3, $4::jsonb, $5, $5)
       ON CONFLICT (agent_id) DO UPDATE SET peer_id = EXCLUDED.peer_id, owner = EXCLUDED.owner, info = EXCLUDED.info, last_heartbeat = EXCLUDED.last_heartbeat
       RETURNING *`,
      [info.agent_id, peerId, owner, JSON.stringify(info), now],
    );
    return this.#toStored(rows[0]!, now);
  }

  async get(agentId: string, now: number): Promise<StoredAgent | undefined> {
    const rows = await this.#db.query<AgentRow>('SELECT * FROM agents WHERE agent_id = $1', [agentId]);
    return rows[0] && this.#toStored(rows[0], now);
  }

  async list(now: number): Promise<StoredAgent[]> {
    const rows = await this.#db.query<AgentRow>('SELECT * FROM agents ORDER BY agent_id');
    return rows.map((r) => this.#toStored(r, now));
  }

  async delete(agentId: string): Promise<boolean> {
    return (await this.#db.query('DELETE FROM agents WHERE agent_id = $1 RETURNING agent_id', [agentId])).length > 0;
  }

  /** A revoked peer's agents leave the registry at once; answers their ids. */
  async deleteByPeer(peerId: string): Promise<string[]> {
    const rows = await this.#db.query<{ agent_id: string }>('DELETE FROM agents WHERE peer_id = $1 OR owner = $1 RETURNING agent_id', [peerId]);
    return rows.map((r) => r.agent_id);
  }

  /**
   * The active agent with the skill that was routed to least recently (round robin across
   * equals; an agent that never got a route goes first, then the freshest heartbeat).
   * Marks it routed so the next call picks another one.
   */
  async route(skill: string, now: number): Promise<StoredAgent | undefined> {
    const rows = await this.#db.query<AgentRow>(
      `UPDATE agents SET last_routed = $3 WHERE agent_id = (
         SELECT agent_id FROM agents
         WHERE last_heartbeat >= $2 AND (info->'capabilities'->'skills') @> jsonb_build_array($1::text)
         ORDER BY last_routed ASC, last_heartbeat DESC, agent_id ASC LIMIT 1)
       RETURNING *`,
      [skill, now - this.#timers.staleS, now],
    );
    return rows[0] && this.#toStored(rows[0], now);
  }

  /** Agent ids whose health differs between two instants (for change notifications). */
  async healthChangedBetween(before: number, now: number): Promise<boolean> {
    const rows = await this.#db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM agents WHERE
         (last_heartbeat < $2::float8 - $3::float8 AND last_heartbeat >= $1::float8 - $3::float8) OR
         (last_heartbeat < $2::float8 - $4::float8 AND last_heartbeat >= $1::float8 - $4::float8)`,
      [before, now, this.#timers.staleS, this.#timers.offlineS],
    );
    return (rows[0]?.n ?? 0) > 0;
  }
}
