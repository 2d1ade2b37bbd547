import { useEffect, useState } from 'react';
import QRCode from 'qrcode';
import type { PairingCode, PairingEntry } from '../../../mesh/protocol/index.ts';
import type { AdminFeed } from '../pairing/admin-feed.ts';
import '../pairing/pairing.css';

/** The link a phone opens from the QR code (the SPA's /pair page with the code filled in). */
export function pairingLink(code: string): string {
  return `${location.origin}/pair?code=${code}`;
}

/** Seconds since the epoch from a time the registry may give in seconds or milliseconds. */
const epochS = (t: number) => (t < 1e12 ? t : t / 1000);

/** Admin: create an invite (code + QR), approve or reject requests as they arrive, revoke devices. */
export function Devices({ feed }: { feed: AdminFeed }) {
  const [invite, setInvite] = useState<(PairingCode & { qr: string; madeAt: number }) | null>(null);
  const [now, setNow] = useState(Date.now());
  const [error, setError] = useState('');
  const [busy, setBusy] = useState('');
  // A code is single use: the first request made after it (by the registry's clock) used it.
  const usedBy = invite && feed.pairings.find((p) => p.created_at >= invite.madeAt);
  useEffect(() => {
    if (!invite || usedBy) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [invite, usedBy]);
  const left = invite ? Math.max(0, Math.round(epochS(invite.expires_at) - now / 1000)) : 0;

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError('');
    setBusy(what);
    try {
      await fn();
    } catch (e) {
      setError(`${what}: ${(e as Error).message}`);
    } finally {
      setBusy('');
    }
  };
  const create = () =>
    act('Create invite', async () => {
      const c = await feed.client!.generatePairingCode();
      // SVG as a data: URL in an <img>: nothing from the network is ever parsed as markup here.
      const svg = await QRCode.toString(pairingLink(c.code), { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      setInvite({ ...c, qr: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, madeAt: epochS(c.expires_at) - c.expires_in });
      setNow(Date.now());
    });
  const pending = feed.pairings.filter((p) => p.status === 'pending_approval');
  const others = feed.pairings.filter((p) => p.status !== 'pending_approval').slice(0, 50);

  return (
    <section className="card" aria-labelledby="devices-title" id="devices" data-testid="devices">
      <div className="card-head">
        <h2 id="devices-title">Devices</h2>
        <button type="button" className="primary small" disabled={!feed.client || !!busy} onClick={() => void create()}>
          Add a device
        </button>
      </div>
      {invite && (
        <div className="invite" data-testid="invite">
          {usedBy ? (
            <p data-testid="invite-used">
              The code {invite.code} was used by <strong>{usedBy.agent_name}</strong>
              {usedBy.status === 'pending_approval' ? ': approve it below.' : '.'}
            </p>
          ) : left > 0 ? (
            <>
              <img src={invite.qr} width={180} height={180} alt={`QR code of the pairing link for code ${invite.code}`} data-testid="invite-qr" />
              <p>
                Scan it on the new device, or open <code>/pair</code> there and enter
              </p>
              <p className="pair-code" data-testid="invite-code">
                {invite.code}
              </p>
              <p className="muted">
                Valid for {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}, once. <a href={pairingLink(invite.code)}>Pairing link</a>
              </p>
            </>
          ) : (
            <p className="muted">The code {invite.code} expired. Create a new invite.</p>
          )}
        </div>
      )}
      {!feed.live && feed.error && (
        <p className="error" role="alert">
          {feed.error}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <h3>Waiting for approval</h3>
      {pending.length === 0 && <p className="muted empty">No requests. They appear here live.</p>}
      <ul className="device-list" aria-live="polite">
        {pending.map((p) => (
          <DeviceRow key={p.id} p={p}>
            <button type="button" className="primary small" disabled={!!busy} onClick={() => void act('Approve', () => feed.client!.approvePairing(p.id))}>
              Approve
            </button>
            <button type="button" className="ghost small" disabled={!!busy} onClick={() => void act('Reject', () => feed.client!.rejectPairing(p.id))}>
              Reject
            </button>
          </DeviceRow>
        ))}
      </ul>
      {others.length > 0 && <h3>Paired and refused</h3>}
      <ul className="device-list">
        {others.map((p) => (
          <DeviceRow key={p.id} p={p}>
            {p.status === 'approved' && (
              <button
                type="button"
                className="ghost small danger"
                disabled={!!busy}
                onClick={() => {
                  if (confirm(`Revoke ${p.agent_name} (${p.peer_id})? Its links close and it cannot reconnect.`))
                    void act('Revoke', () => feed.client!.revokePairing(p.id));
                }}
              >
                Revoke
              </button>
            )}
          </DeviceRow>
        ))}
      </ul>
    </section>
  );
}

const STATUS: Record<string, string> = { pending_approval: 'waiting', approved: 'paired', rejected: 'rejected', revoked: 'revoked' };

function DeviceRow({ p, children }: { p: PairingEntry; children: React.ReactNode }) {
  // Everything the device sent (its name) is rendered as text by React, never as markup.
  return (
    <li className="device" data-testid="device" data-status={p.status} data-peer={p.peer_id}>
      <div>
        <strong data-testid="device-name">{p.agent_name}</strong> <span className={`badge ${p.status}`}>{STATUS[p.status] ?? p.status}</span>
        <div className="muted small">
          {p.peer_id} · from {p.client_ip}
          {p.key_id ? ` · key ${p.key_id.slice(0, 12)}…` : ' · no device key'} · {new Date(p.created_at * 1000).toLocaleString()}
        </div>
      </div>
      <div className="device-actions">{children}</div>
    </li>
  );
}
