import { useEffect, useMemo, useRef, useState } from 'react';
import { useStore } from '../state/store.ts';
import { buildGraph, pathLabel } from '../lib/graph.ts';

const short = (id: string, max: number) => (id.length > max ? id.slice(0, max - 1) + '…' : id);

/** The drawing uses the element's real pixel size, so text stays readable on a phone. */
function useSize(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [w, setW] = useState(640);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => e && setW(Math.max(280, Math.round(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** Peers as nodes coloured by health, open DataChannels as edges labelled with path type and RTT. */
export function Topology() {
  const self = useStore((s) => s.session.peerId);
  const registryPeers = useStore((s) => s.registry.peers);
  const signalingPeers = useStore((s) => s.mesh.peers);
  const agents = useStore((s) => s.registry.agents);
  const edges = useStore((s) => s.registry.edges);
  const links = useStore((s) => s.mesh.links);
  const stale = useStore((s) => s.stale || !s.online);
  const [box, W] = useSize();
  const narrow = W < 480;
  const H = Math.round(narrow ? Math.max(300, W * 0.95) : Math.min(440, Math.max(300, W * 0.72)));
  const maxLabel = W < 480 ? 16 : 24;
  const label = (n: { id: string; self: boolean }) => short(n.id, maxLabel) + (n.self ? ' (you)' : '');
  const g = useMemo(
    () => buildGraph({ self, registryPeers, signalingPeers, agents, edges, links }),
    [self, registryPeers, signalingPeers, agents, edges, links],
  );
  const open = g.edges.filter((e) => e.path !== 'http').length;
  const summary = `${g.nodes.length} peer${g.nodes.length === 1 ? '' : 's'}, ${open} open link${open === 1 ? '' : 's'}${stale ? ' (last known)' : ''}`;
  // Spread the ring over the box (graph.ts lays it out at radius 0.36 around the centre).
  const rx = W / 2 - Math.min(90, W * 0.14),
    ry = H / 2 - 52;
  const px = (v: number) => W / 2 + ((v - 0.5) / 0.36) * rx;
  const py = (v: number) => H / 2 + ((v - 0.5) / 0.36) * ry;
  const pos = new Map(g.nodes.map((n) => [n.id, { x: px(n.x), y: py(n.y) }]));
  // Edge labels: at the middle of the edge, or slid along it until they do not overlap another.
  const placed: Array<{ x: number; y: number; w: number }> = [];
  const edgeLabels = new Map(
    g.edges.map((e) => {
      const a = pos.get(e.a),
        b = pos.get(e.b);
      const text = pathLabel(e.path, e.rtt_ms, narrow);
      const w = text.length * 7.2 + 12;
      let at = { x: 0, y: 0 };
      if (a && b) {
        for (const t of [0.5, 0.36, 0.64, 0.26, 0.74]) {
          at = { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
          if (!placed.some((p) => Math.abs(p.x - at.x) < (p.w + w) / 2 + 2 && Math.abs(p.y - at.y) < 24)) break;
        }
        placed.push({ ...at, w });
      }
      return [`${e.a}|${e.b}`, { text, w, ...at }] as const;
    }),
  );
  /** Keeps a label of `chars` monospace characters inside the box. */
  const clampX = (x: number, chars: number) => {
    const half = (chars * 7.8) / 2 + 4;
    return Math.min(Math.max(x, half), W - half);
  };
  return (
    <section className="card" aria-labelledby="topo-title" id="topology">
      <div className="card-head">
        <h2 id="topo-title">Topology</h2>
        <span className="muted" data-testid="topology-summary">
          {summary}
        </span>
      </div>
      <div ref={box}>
        <svg
          className={`topology${stale ? ' topology-stale' : ''}`}
          width={W}
          height={H}
          viewBox={`0 0 ${W} ${H}`}
          role="img"
          aria-label={`Mesh topology: ${summary}`}
        >
          {g.edges.map((e) => {
            const a = pos.get(e.a),
              b = pos.get(e.b);
            if (!a || !b) return null;
            const l = edgeLabels.get(`${e.a}|${e.b}`)!;
            return (
              <g key={`${e.a}|${e.b}`} className={`edge edge-${e.path}`} data-testid="topology-edge" data-a={e.a} data-b={e.b} data-path={e.path}>
                <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} />
                <rect x={l.x - l.w / 2} y={l.y - 11} width={l.w} height={22} rx={11} />
                <text x={l.x} y={l.y + 4} textAnchor="middle">
                  {l.text}
                </text>
              </g>
            );
          })}
          {g.nodes.map((n) => {
            const p = pos.get(n.id)!;
            return (
              <g
                key={n.id}
                className={`node node-${n.health}${n.self ? ' node-self' : ''}`}
                data-testid="topology-node"
                data-peer={n.id}
                data-health={n.health}
              >
                <title>{`${n.id} (${n.health})${n.agents.length ? ': ' + n.agents.join(', ') : ''}`}</title>
                <circle cx={p.x} cy={p.y} r={n.self ? 26 : 22} />
                <text x={p.x} y={p.y + 4} textAnchor="middle" className="node-count">
                  {n.agents.length || ''}
                </text>
                <text x={clampX(p.x, label(n).length)} y={p.y + (p.y < H / 2 - 1 ? -34 : 42)} textAnchor="middle" className="node-label">
                  {label(n)}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <ul className="sr-only" aria-label="Open links">
        {g.edges.map((e) => (
          <li key={`${e.a}|${e.b}`}>{`${e.a} to ${e.b}: ${pathLabel(e.path, e.rtt_ms)}`}</li>
        ))}
      </ul>
      <ul className="legend" aria-label="Legend">
        <li>
          <span className="sw sw-active" />
          active
        </li>
        <li>
          <span className="sw sw-stale" />
          stale
        </li>
        <li>
          <span className="sw sw-offline" />
          offline
        </li>
        <li className="muted">
          edge: DataChannel path type · round-trip time (dashed “HTTP” = no DataChannel, tasks go through the registry); number in a node: agents on it
        </li>
      </ul>
    </section>
  );
}
