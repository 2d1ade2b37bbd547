import { useStore } from '../state/store.ts';
import { useAdminFeed } from '../pairing/admin-feed.ts';
import { Devices } from './Devices.tsx';
import { Audit } from './Audit.tsx';
import { Keys } from './Keys.tsx';

/** Devices (pairing, approval, revocation), API keys and the audit log, for admins only (the registry enforces it too). */
export function AdminPanels() {
  const isAdmin = useStore((s) => s.session.phase === 'signed_in' && s.session.role === 'admin');
  const feed = useAdminFeed(isAdmin);
  if (!isAdmin) return null;
  return (
    <>
      <Devices feed={feed} />
      <Keys feed={feed} />
      <Audit feed={feed} />
    </>
  );
}
