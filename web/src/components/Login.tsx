import { useState, type FormEvent } from 'react';
import { useStore } from '../state/store.ts';

export function Login() {
  const session = useStore((s) => s.session);
  const login = useStore((s) => s.login);
  const online = useStore((s) => s.online);
  const [key, setKey] = useState('');
  const busy = session.phase === 'signing_in';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) void login(key);
  };
  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Join the mesh</h1>
        <p className="muted">
          Enter the admin key printed by <code>npm start</code> (also in <code>admin.key</code> in the registry's data directory: <code>MESH_DATA_DIR</code>,{' '}
          <code>./.mesh-data</code> by default), an API key, or this device's token. It is kept in this browser only.
        </p>
        <input type="text" name="username" autoComplete="username" value="chatixia" readOnly hidden />
        <label htmlFor="credential">Key or device token</label>
        <input
          id="credential"
          name="credential"
          type="password"
          autoComplete="current-password"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          disabled={busy}
          spellCheck={false}
        />
        {session.error && (
          <p className="error" role="alert">
            {session.error}
          </p>
        )}
        {!online && (
          <p className="error" role="status">
            You are offline; signing in needs the registry.
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in and join'}
        </button>
        <p className="muted small">
          <a href="/pair">Pair this device with a code instead</a>
        </p>
      </form>
    </main>
  );
}
