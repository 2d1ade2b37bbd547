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
  const H = Math.round(Math.min(440, Math.max(300, W * 0.72)));
  const maxLabel = W < 480 ? 16 : 24;
  const g = useMemo(
    () => buildGraph({ self, registryPeers, signalingPeers, agents, edges, links }),
    [self, registryPeers, signalingPeers, agents, edges, links],
  );
  const summary = `${g.nodes.length} peer${g.nodes.length === 1 ? '' : 's'}, ${g.edges.length} open link${g.edges.length === 1 ? '' : 's'}${stale ? ' (last known)' : ''}`;
  const pad = 58;
  const px = (v: number) => pad + v * (W - 2 * pad);
  const py = (v: number) => pad * 0.7 + v * (H - 1.4 * pad);
  const pos = new Map(g.nodes.map((n) => [n.id, { x: px(n.x), y: py(n.y) }]));
  return (
    <section className="card" aria-labelledby="topo-title" id="topology">
      <div className="card-head">
        <h2 id="topo-title">Topology</h2>
        <span className="muted" data-testid="topology-summary">{summary}</span>
      </div>
      <div ref={box}>
      <svg className={`topology${stale ? ' topology-stale' : ''}`} width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Mesh topology: ${summary}`}>
        {g.edges.map((e) => {
          const a = pos.get(e.a), b = pos.get(e.b);
          if (!a || !b) return null;
          const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
          const label = pathLabel(e.path, e.rtt_ms);
          return (
            <g key={`${e.a}|${e.b}`} className={`edge edge-${e.path}`} data-testid="topology-edge" data-a={e.a} data-b={e.b} data-path={e.path}>
              <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} />
              <rect x={mx - label.length * 3.6 - 6} y={my - 11} width={label.length * 7.2 + 12} height={22} rx={11} />
              <text x={mx} y={my + 4} textAnchor="middle">{label}</text>
            </g>
          );
        })}
        {g.nodes.map((n) => {
          const p = pos.get(n.id)!;
          return (
            <g key={n.id} className={`node node-${n.health}${n.self ? ' node-self' : ''}`} data-testid="topology-node" data-peer={n.id} data-health={n.health}>
              <title>{`${n.id} (${n.health})${n.agents.length ? ': ' + n.agents.join(', ') : ''}`}</title>
              <circle cx={p.x} cy={p.y} r={n.self ? 26 : 22} />
              <text x={p.x} y={p.y + 4} textAnchor="middle" className="node-count">{n.agents.length || ''}</text>
              <text x={p.x} y={p.y + (p.y > H * 0.55 ? -34 : 42)} textAnchor="middle" className="node-label">
                {short(n.id, maxLabel)}{n.self ? ' (you)' : ''}
              </text>
            </g>
          );
        })}
      </svg>
      </div>
      <ul className="legend" aria-label="Legend">
        <li><span className="sw sw-active" />active</li>
        <li><span className="sw sw-stale" />stale</li>
        <li><span className="sw sw-offline" />offline</li>
        <li className="muted">edge label: path type · round-trip time; number in a node: agents on it</li>
      </ul>
    </section>
  );
}
