import { useStore } from '../state/store.ts';
import { InstallButton } from './InstallButton.tsx';

const SIGNAL_LABEL: Record<string, string> = {
  idle: 'not joined',
  connecting: 'joining…',
  open: 'in the mesh',
  closed: 'reconnecting…',
  replaced: 'taken over by another window',
};

export function Header() {
  const session = useStore((s) => s.session);
  const signaling = useStore((s) => s.mesh.signaling);
  const online = useStore((s) => s.online);
  const role = useStore((s) => s.tab.role);
  const logout = useStore((s) => s.logout);
  const state = !online ? 'offline' : signaling;
  return (
    <header className="top">
      <div className="brand">
        <img src="/icons/favicon-32.png" width="24" height="24" alt="" />
        <span className="brand-name">chatixia mesh</span>
      </div>
      <div className="who">
        {session.phase === 'signed_in' && (
          <>
            <span className={`dot dot-${state}`} aria-hidden="true" />
            <span className="who-text">
              <span className="peer-id" data-testid="self-peer-id">
                {session.peerId}
              </span>
              <span className="muted">
                {' '}
                · {!online ? 'offline' : (SIGNAL_LABEL[signaling] ?? signaling)}
                {role === 'follower' ? ' · mirrored from another tab' : ''}
              </span>
            </span>
          </>
        )}
      </div>
      <div className="actions">
        <InstallButton />
        {session.phase === 'signed_in' && (
          <button type="button" className="ghost small" onClick={() => void logout()}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}
