import { useEffect, useRef, useState, type FormEvent } from 'react';
import { RegistryClient } from '../../../mesh/registry-client.ts';
import { IndexedDbKeyStore, IndexedDbTrustRecords, KnownPeers } from '../../../mesh/identity/index.ts';
import { pairDevice, pairingErrorText } from './pair-device.ts';
import { useStore } from '../state/store.ts';
import './pairing.css';

type Phase =
  | { step: 'form' }
  | { step: 'sending' }
  | { step: 'waiting'; peerId: string; since: number }
  | { step: 'joining'; peerId: string }
  | { step: 'refused'; text: string };

/** True on the pairing page (the QR code's link). */
export function isPairPath(): boolean {
  return location.pathname === '/pair';
}

function defaultName(): string {
  const ua = navigator.userAgent;
  const kind = /iPhone/.test(ua) ? 'iPhone' : /iPad/.test(ua) ? 'iPad' : /Android/.test(ua) ? 'Android phone' : 'Browser';
  return `${kind} ${crypto.randomUUID().slice(0, 4)}`;
}

/**
 * The pairing page: the steps are in pair-device.ts; this page shows them and signs in with the
 * device token when the admin approved (no reload; the app keeps the token in IndexedDB).
 */
export function PairPage() {
  const login = useStore((s) => s.login);
  const session = useStore((s) => s.session);
  const [code, setCode] = useState(() => (new URLSearchParams(location.search).get('code') ?? '').replace(/\D/g, '').slice(0, 6));
  const [name, setName] = useState(defaultName);
  const [phase, setPhase] = useState<Phase>({ step: 'form' });
  const [error, setError] = useState('');
  /** This browser pinned another registry CA before: pairing here needs a deliberate reset. */
  const [caConflict, setCaConflict] = useState(false);
  const stop = useRef(new AbortController());
  useEffect(() => () => stop.current.abort(), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    if (!/^\d{6}$/.test(code)) return setError('The code has 6 digits.');
    setPhase({ step: 'sending' });
    try {
      const outcome = await pairDevice({
        code,
        name: name.trim() || defaultName(),
        client: new RegistryClient({ baseUrl: location.origin }),
        keyStore: new IndexedDbKeyStore(),
        known: new KnownPeers(new IndexedDbTrustRecords()),
        onWaiting: (peerId) => setPhase({ step: 'waiting', peerId, since: Date.now() }),
        signal: stop.current.signal,
      });
      if (outcome.kind === 'ca_conflict') {
        setCaConflict(true);
        setPhase({ step: 'form' });
      } else if (outcome.kind === 'refused') {
        setPhase({ step: 'refused', text: outcome.text });
      } else if (outcome.kind === 'approved') {
        setPhase({ step: 'joining', peerId: outcome.peerId });
        await login(outcome.deviceToken);
        if (useStore.getState().session.phase === 'signed_in') history.replaceState(null, '', '/');
      }
    } catch (err) {
      setPhase({ step: 'form' });
      setError(pairingErrorText(err));
    }
  };

  return (
    <main className="login" id="main">
      <div className="card login-card" data-testid="pair-page">
        <h1>Pair this device</h1>
        {phase.step === 'form' || phase.step === 'sending' ? (
          <form onSubmit={(e) => void submit(e)} aria-labelledby="pair-title">
            <p className="muted" id="pair-title">
              Enter the 6-digit code an admin created under <strong>Devices → Add a device</strong>.
            </p>
            <label htmlFor="pair-code">Pairing code</label>
            <input
              id="pair-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="\d{6}"
              maxLength={6}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, '').slice(0, 6))}
              disabled={phase.step === 'sending'}
            />
            <label htmlFor="pair-name">Name of this device</label>
            <input id="pair-name" maxLength={64} value={name} onChange={(e) => setName(e.target.value)} disabled={phase.step === 'sending'} />
            {error && (
              <p className="error" role="alert" data-testid="pair-error">
                {error}
              </p>
            )}
            {caConflict && (
              <div className="error" role="alert" data-testid="pair-ca-conflict">
                <p>
                  This browser already trusts a different registry. If this registry was reinstalled on purpose, forget the old one and pair again; otherwise
                  someone may be impersonating your registry.
                </p>
                <button
                  type="button"
                  className="ghost"
                  onClick={() => {
                    if (!confirm('Forget the registry this browser trusted before? Only do this if you reinstalled it.')) return;
                    void new KnownPeers(new IndexedDbTrustRecords()).forgetCa().then(() => setCaConflict(false));
                  }}
                >
                  Forget the old registry
                </button>
              </div>
            )}
            <button type="submit" className="primary" disabled={phase.step === 'sending' || code.length !== 6}>
              {phase.step === 'sending' ? 'Sending…' : 'Pair'}
            </button>
            <p className="muted small">
              <a href="/">Sign in with a key instead</a>
            </p>
          </form>
        ) : phase.step === 'waiting' ? (
          <div role="status" data-testid="pair-waiting">
            <p>
              <strong>Waiting for approval…</strong>
            </p>
            <p className="muted">
              Ask the admin to approve <strong>{name}</strong> ({phase.peerId}) in the dashboard. This page continues by itself.
            </p>
          </div>
        ) : phase.step === 'joining' ? (
          <p role="status" data-testid="pair-joining">
            Approved. Joining the mesh as {phase.peerId}…{session.error ? ` ${session.error}` : ''}
          </p>
        ) : (
          <div role="alert" data-testid="pair-refused">
            <p className="error">{phase.text}</p>
            <button type="button" className="ghost" onClick={() => setPhase({ step: 'form' })}>
              Try another code
            </button>
          </div>
        )}
      </div>
    </main>
  );
}
