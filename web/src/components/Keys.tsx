import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { ApiKeyCreated, ApiKeyInfo, Role } from '../../../mesh/protocol/index.ts';
import type { AdminFeed } from '../pairing/admin-feed.ts';

const SOURCE: Record<ApiKeyInfo['source'], string> = {
  api: 'created here',
  keys_file: 'API_KEYS_FILE',
  admin_file: 'admin key (admin.key in the data dir)',
  env: 'admin key (ADMIN_API_KEY)',
};

/**
 * Admin: API keys for sidecars and agents (POST/GET/DELETE /api/keys). A new key is shown once, here,
 * and never again: the registry keeps only its hash.
 */
export function Keys({ feed }: { feed: AdminFeed }) {
  const [keys, setKeys] = useState<ApiKeyInfo[]>([]);
  const [peerId, setPeerId] = useState('');
  const [role, setRole] = useState<Role>('agent');
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const client = feed.client;

  const reload = useCallback(async () => {
    if (client) setKeys(await client.listKeys());
  }, [client]);
  useEffect(() => {
    reload().catch((e: Error) => setError(e.message));
  }, [reload]);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError('');
    setBusy(true);
    try {
      await fn();
      await reload();
    } catch (e) {
      setError(`${what}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    void act('Create key', async () => {
      setCreated(await client!.createKey(peerId.trim(), role));
      setPeerId('');
    });
  };

  return (
    <section className="card" aria-labelledby="keys-title" id="keys" data-testid="keys">
      <div className="card-head">
        <h2 id="keys-title">API keys</h2>
      </div>
      <p className="muted small">
        A key lets one sidecar or agent join as the peer id it names: <code>API_KEY=… npx chatixia-sidecar</code>.
      </p>
      <form className="row key-form" onSubmit={create}>
        <label className="grow">
          Peer id{' '}
          <input
            name="key-peer-id"
            value={peerId}
            onChange={(e) => setPeerId(e.target.value)}
            placeholder="pi-kitchen"
            spellCheck={false}
            required
            maxLength={128}
          />
        </label>
        <label>
          Role
          <select name="key-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="agent">agent</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary small" disabled={!client || busy || !peerId.trim()}>
          Create key
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div className="banner key-once" data-testid="key-created" role="status">
          <div>
            <p>
              Key for <strong>{created.peer_id}</strong> ({created.role}). Copy it now: it is not shown again.
            </p>
            <code className="secret" data-testid="key-secret">
              {created.key}
            </code>
          </div>
          <button type="button" className="ghost small" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <ul className="device-list">
        {keys.map((k) => (
          <li className="device" key={`${k.source}:${k.peer_id}`} data-testid="key-row" data-peer={k.peer_id}>
            <div>
              <strong>{k.peer_id}</strong> <span className="badge">{k.role}</span>
              <div className="muted small">
                {SOURCE[k.source]}
                {k.created_at ? ` · ${new Date(k.created_at).toLocaleString()}` : ''}
              </div>
            </div>
            <div className="device-actions">
              {k.source === 'api' && (
                <button
                  type="button"
                  className="ghost small danger"
                  disabled={busy}
                  onClick={() => {
                    if (confirm(`Delete the key of ${k.peer_id}? Whatever uses it is refused from now on.`))
                      void act('Delete key', () => client!.deleteKey(k.peer_id));
                  }}
                >
                  Delete
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
