import { useStore } from '../state/store.ts';
import { runtime } from '../state/actions.ts';

/** An admin revoked this browser: what happened, in plain words, what stopped, and how to come back. */
export function Revoked() {
  const session = useStore((s) => s.session);
  const leave = (then: 'pair' | 'sign_in') => void runtime().do({ type: 'leave_revoked', then });
  return (
    <main className="login" id="main">
      <section className="card login-card" role="alert" aria-labelledby="revoked-title" data-testid="revoked">
        <h1 id="revoked-title">This device was removed from the mesh</h1>
        <p>
          An admin revoked{' '}
          {session.peerId ? (
            <>
              its access (<code>{session.peerId}</code>)
            </>
          ) : (
            'its access'
          )}
          . It has disconnected and stopped its agents, and it will not try to reconnect.
        </p>
        {session.error && (
          <p className="muted small" data-testid="revoked-reason">
            The registry said: {session.error}
          </p>
        )}
        <p>To use it in the mesh again, ask an admin for a new pairing code and pair it again.</p>
        <button type="button" className="primary" onClick={() => leave('pair')}>
          Pair again
        </button>
        <p className="muted small">
          <button type="button" className="ghost small" onClick={() => leave('sign_in')}>
            Sign in with a key instead
          </button>
        </p>
      </section>
    </main>
  );
}
