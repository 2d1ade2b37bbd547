/**
 * Builds the topology picture's graph: peers from the registry, from signaling and from our own
 * links; edges as peers report them in heartbeats, overridden by our own live links (fresher,
 * with RTT from getStats()). Pure, so the layout is the same in every tab.
 */
import type { AgentView, EdgeView, LinkView, PathType } from '../state/views.ts';

export interface GraphNode {
  id: string;
  health: string;
  agents: string[];
  self: boolean;
  x: number;
  y: number;
}
export interface GraphEdge {
  a: string;
  b: string;
  path: PathType;
  rtt_ms?: number | undefined;
  mine: boolean;
}

const RANK: Record<string, number> = { active: 3, stale: 2, offline: 1 };

export function buildGraph(input: {
  self?: string | undefined;
  registryPeers: Array<{ peer_id: string; health: string }>;
  signalingPeers: string[];
  agents: AgentView[];
  edges: EdgeView[];
  links: Record<string, LinkView>;
}): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const health = new Map<string, string>();
  const agents = new Map<string, string[]>();
  const see = (id: string, h: string) => {
    const old = health.get(id);
    if (!old || (RANK[h] ?? 0) > (RANK[old] ?? 0)) health.set(id, h);
  };
  if (input.self) see(input.self, 'active');
  for (const p of input.registryPeers) see(p.peer_id, p.health);
  for (const p of input.signalingPeers) see(p, 'active');
  for (const a of input.agents) {
    if (!a.peer_id) continue;
    see(a.peer_id, a.health);
    if (a.agent_id === a.peer_id) continue; // the peer's own record is not an agent of its own
    agents.set(a.peer_id, [...(agents.get(a.peer_id) ?? []), a.agent_id]);
  }
  const openLinks = Object.values(input.links).filter((l) => l.state === 'open');
  for (const l of openLinks) see(l.peer_id, 'active');

  const edges = new Map<string, GraphEdge>();
  const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
  for (const e of input.edges) {
    if (e.from === e.to) continue;
    see(e.from, health.get(e.from) ?? 'stale');
    see(e.to, health.get(e.to) ?? 'stale');
    const k = key(e.from, e.to);
    if (!edges.has(k)) edges.set(k, { a: e.from, b: e.to, path: e.path, rtt_ms: e.rtt_ms, mine: false });
  }
  if (input.self) {
    for (const k of [...edges.keys()]) {
      const e = edges.get(k)!;
      // our own view replaces what the registry last heard about our links
      if (e.a === input.self || e.b === input.self) edges.delete(k);
    }
    for (const l of openLinks) {
      edges.set(key(input.self, l.peer_id), { a: input.self, b: l.peer_id, path: l.path, rtt_ms: l.rtt_ms, mine: true });
    }
    // An active peer we have no DataChannel to is reached through the registry (task queue): say so.
    for (const [id, h] of health) {
      if (id === input.self || h !== 'active' || edges.has(key(input.self, id))) continue;
      edges.set(key(input.self, id), { a: input.self, b: id, path: 'http', mine: true });
    }
  }

  // Self first, then by id: a stable ring layout.
  const ids = [...health.keys()].sort((a, b) => (a === input.self ? -1 : b === input.self ? 1 : a.localeCompare(b)));
  const n = ids.length;
  const nodes = ids.map((id, i): GraphNode => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    const r = n <= 1 ? 0 : 0.36;
    return {
      id,
      health: health.get(id)!,
      agents: agents.get(id) ?? [],
      self: id === input.self,
      x: 0.5 + r * Math.cos(angle),
      y: 0.5 + r * Math.sin(angle),
    };
  });
  return { nodes, edges: [...edges.values()] };
}

export function pathLabel(path: PathType, rtt?: number, compact = false): string {
  const name = path === 'http' ? (compact ? 'HTTP' : 'HTTP fallback') : path;
  if (rtt === undefined) return name;
  const ms = rtt < 0.1 ? '<0.1' : rtt < 10 ? rtt.toFixed(1) : String(Math.round(rtt));
  return compact ? `${name} ${ms}ms` : `${name} · ${ms} ms`;
}
