/**
 * The admin's view of devices and the audit log: its own RegistryClient (the signed-in admin
 * credential from IndexedDB, same peer id as the tab) and its own live event stream, so it works
 * in every tab, not only the leader. The registry refuses all of it to non-admins (403).
 */
import { useEffect, useState } from 'react';
import { RegistryClient } from '../../../mesh/registry-client.ts';
import { Backoff, sleep } from '../../../mesh/backoff.ts';
import type { AuditEntry, PairingEntry } from '../../../mesh/protocol/index.ts';
import { idb } from '../lib/idb.ts';

export async function adminClient(): Promise<RegistryClient> {
  const [credential, peerId] = await Promise.all([idb.get<string>('credential'), idb.get<string>('peer_id')]);
  if (!credential) throw new Error('not signed in');
  return new RegistryClient({ baseUrl: location.origin, apiKey: credential, ...(peerId ? { peerId } : {}) });
}

export interface AdminFeed {
  client: RegistryClient | null;
  pairings: PairingEntry[];
  audit: AuditEntry[];
  live: boolean;
  error: string;
}

const MAX_AUDIT = 200;

export function useAdminFeed(enabled: boolean): AdminFeed {
  const [feed, setFeed] = useState<AdminFeed>({ client: null, pairings: [], audit: [], live: false, error: '' });
  useEffect(() => {
    if (!enabled) return;
    const ctl = new AbortController();
    const upsert = (list: PairingEntry[], e: PairingEntry) => [e, ...list.filter((x) => x.id !== e.id)].sort((a, b) => b.created_at - a.created_at);
    void (async () => {
      const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
      while (!ctl.signal.aborted) {
        try {
          const client = await adminClient();
          const [pairings, audit] = await Promise.all([client.allPairings(), client.audit({ limit: 100 })]);
          setFeed({ client, pairings: [...pairings].sort((a, b) => b.created_at - a.created_at), audit, live: true, error: '' });
          backoff.reset();
          await client.events((e) => {
            if (e.type === 'pairing') setFeed((f) => ({ ...f, pairings: upsert(f.pairings, e.data) }));
            else if (e.type === 'audit') setFeed((f) => ({ ...f, audit: [e.data, ...f.audit.filter((a) => a.id !== e.data.id)].slice(0, MAX_AUDIT) }));
          }, ctl.signal);
        } catch (e) {
          if (ctl.signal.aborted) return;
          setFeed((f) => ({ ...f, live: false, error: (e as Error).message }));
        }
        setFeed((f) => ({ ...f, live: false }));
        await sleep(backoff.next(), ctl.signal).catch(() => {});
      }
    })();
    return () => ctl.abort();
  }, [enabled]);
  return feed;
}
