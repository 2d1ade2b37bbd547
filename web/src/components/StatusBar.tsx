import { useStore } from '../state/store.ts';

const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Offline/stale state, queued actions and notices: nothing the app does goes unreported. */
export function StatusBar() {
  const online = useStore((s) => s.online);
  const stale = useStore((s) => s.stale);
  const savedAt = useStore((s) => s.savedAt);
  const outbox = useStore((s) => s.outbox);
  const notices = useStore((s) => s.notices);
  const dismiss = useStore((s) => s.dismiss);
  // Offline and stale describe a mesh state on screen: there is none before signing in, or after a revocation.
  const showing = useStore((s) => s.session.phase === 'signed_in');
  return (
    <div className="status-stack">
      {showing && !online && (
        <div className="banner banner-offline" role="status" data-testid="offline-banner">
          <span>
            <strong>You are offline.</strong> Showing the last known mesh state
            {savedAt ? ` from ${time(savedAt)}` : ''}. Messages and tasks you send now are queued and sent when the connection returns.
          </span>
        </div>
      )}
      {showing && online && stale && (
        <div className="banner banner-stale" role="status">
          <span>Reconnecting… the data below may be out of date{savedAt ? ` (saved ${time(savedAt)})` : ''}.</span>
        </div>
      )}
      {outbox.length > 0 && (
        <div className="banner banner-queue" role="status" data-testid="outbox">
          <span>
            {outbox.length} action{outbox.length > 1 ? 's' : ''} waiting to be sent: {outbox.map((o) => o.label).join('; ')}
          </span>
        </div>
      )}
      {notices.map((n) => (
        <div key={n.id} className={`banner notice-${n.level}`} role={n.level === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="ghost small" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
