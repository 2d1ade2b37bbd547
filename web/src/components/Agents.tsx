import { useMemo } from 'react';
import { useStore } from '../state/store.ts';
import type { AgentView } from '../state/views.ts';

/** Every agent the registry knows, live from /api/events. */
export function Agents({ onChat }: { onChat: (agent: string, peerId: string) => void }) {
  const all = useStore((s) => s.registry.agents);
  const self = useStore((s) => s.session.peerId);
  // This browser first, then by peer; on each peer its named agents before the peer's own record.
  const agents = useMemo(
    () =>
      [...all].sort(
        (x, y) =>
          Number(y.peer_id === self) - Number(x.peer_id === self) ||
          x.peer_id.localeCompare(y.peer_id) ||
          Number(x.agent_id === x.peer_id) - Number(y.agent_id === y.peer_id) ||
          x.agent_id.localeCompare(y.agent_id),
      ),
    [all, self],
  );
  return (
    <section className="card" aria-labelledby="agents-title" id="agents">
      <div className="card-head">
        <h2 id="agents-title">Agents</h2>
        <span className="muted">{agents.length} registered</span>
      </div>
      {agents.length === 0 && <p className="muted empty">No agents yet. Start one under “This browser”, or run a sidecar.</p>}
      <ul className="agent-list">
        {agents.map((a) => (
          <li
            key={`${a.agent_id}@${a.peer_id}`}
            className="agent"
            data-testid="agent-row"
            data-agent={a.agent_id}
            data-peer={a.peer_id}
            data-backed-by={a.backedBy?.protocol}
          >
            <div className="agent-top">
              <span className={`chip health-${a.health}`}>{a.health}</span>
              <strong className="agent-name">{a.agent_id}</strong>
              {a.agent_id === a.peer_id && <span className="chip">peer</span>}
              {a.backedBy && (
                <span className={`chip backed ${a.backedBy.protocol}`} title={a.backedBy.source} data-testid="backed-by">
                  {BACKED[a.backedBy.protocol]}
                </span>
              )}
              {a.peer_id && a.peer_id !== self && a.agent_id !== a.peer_id && (
                <button type="button" className="ghost small" onClick={() => onChat(a.agent_id, a.peer_id)}>
                  Chat
                </button>
              )}
            </div>
            <div className="agent-meta muted">
              on <span className="mono">{a.peer_id || '—'}</span>
              {a.peer_id === self ? ' (this browser)' : ''}
              {a.hostname ? (
                <>
                  {' '}
                  · host <span className="mono">{a.hostname}</span>
                </>
              ) : null}
            </div>
            {a.skills.length > 0 && (
              <ul className="chips" aria-label="Skills">
                {a.skills.map((s) => (
                  <SkillChip key={s} name={s} spec={a.specs?.[s]} backedBy={a.backedBy?.protocol} />
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

const BACKED = { mcp: 'MCP server', a2a: 'A2A agent' } as const;

/** A skill with its description and arguments (from its args schema) on hover and focus; an MCP tool or A2A skill is marked. */
function SkillChip({
  name,
  spec,
  backedBy,
}: {
  name: string;
  spec?: NonNullable<AgentView['specs']>[string] | undefined;
  backedBy?: 'mcp' | 'a2a' | undefined;
}) {
  const props = spec?.args_schema?.properties;
  const args = props && typeof props === 'object' ? Object.keys(props) : [];
  const about = [spec?.description, args.length ? `args: ${args.join(', ')}` : ''].filter(Boolean).join(' — ');
  return (
    <li
      className={`chip skill${spec ? ' specced' : ''}${backedBy ? ` backed ${backedBy}` : ''}`}
      title={about || undefined}
      tabIndex={about ? 0 : undefined}
      data-skill={name}
      data-backed-by={backedBy}
    >
      {backedBy && <span className="backed-tag">{backedBy === 'mcp' ? 'MCP' : 'A2A'}</span>}
      {name}
      {args.length > 0 && <span className="muted">({args.join(', ')})</span>}
    </li>
  );
}
