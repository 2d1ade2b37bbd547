import type { AdminFeed } from '../pairing/admin-feed.ts';

/** Admin: the registry's append-only audit log (keys, pairing, approvals, revocations, identity, policy), live. */
export function Audit({ feed }: { feed: AdminFeed }) {
  return (
    <section className="card" aria-labelledby="audit-title" id="audit" data-testid="audit">
      <div className="card-head">
        <h2 id="audit-title">Audit log</h2>
        <span className={`badge ${feed.live ? 'approved' : 'revoked'}`}>{feed.live ? 'live' : 'offline'}</span>
      </div>
      {feed.audit.length === 0 && <p className="muted empty">Nothing recorded yet.</p>}
      <ol className="audit-list">
        {feed.audit.slice(0, 100).map((a) => (
          <li key={a.id} data-testid="audit-entry" data-action={a.action}>
            <time className="muted small" dateTime={new Date(a.at * 1000).toISOString()}>
              {new Date(a.at * 1000).toLocaleString()}
            </time>{' '}
            <strong>{a.action}</strong> {a.target && <span>→ {a.target}</span>} <span className="muted small">by {a.actor}</span>
            {Object.keys(a.detail ?? {}).length > 0 && <div className="muted small audit-detail">{JSON.stringify(a.detail).slice(0, 300)}</div>}
          </li>
        ))}
      </ol>
    </section>
  );
}
