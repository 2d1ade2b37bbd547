/**
 * How a peer learns that an admin revoked it (its API key deleted, its paired device revoked),
 * whichever channel says so first — a REST answer or the event stream (RegistryClient), or the
 * signaling socket — told once. Wire contract: mesh/protocol/revocation.ts. The tab shows it in
 * plain words and offers to pair again; the sidecar exits with REVOKED_EXIT_CODE. Neither retries.
 */
import { REVOKED } from './protocol/index.ts';
import type { RegistryClient } from './registry-client.ts';
import type { SignalingClient } from './signaling-client.ts';
import { errorCode, errorStatus } from './error-fields.ts';

/**
 * The sidecar's exit status when its credential is revoked or refused: EX_NOPERM from sysexits.h.
 * A systemd unit with `Restart=on-failure` needs `RestartPreventExitStatus=77`, or it restarts a
 * sidecar that can never get in again, forever (README, docs/sidecar.md).
 */
export const REVOKED_EXIT_CODE = 77;

/** A registry answer that means "revoked": the credential will not work again. */
export function isRevokedError(e: unknown): boolean {
  return errorStatus(e) === 401 && errorCode(e) === REVOKED;
}

/** Calls `onRevoked` once, with the registry's words, when any channel says this peer was revoked. Returns a stop function. */
export function watchRevocation(o: { registry: RegistryClient; signaling?: SignalingClient }, onRevoked: (message: string) => void): () => void {
  let told = false;
  const offs = [
    o.registry.onRevoked((m) => tell(m)),
    ...(o.signaling
      ? [
          o.signaling.on('stopped', (why, m) => {
            if (why === 'revoked') tell(m ?? 'this peer was revoked');
          }),
        ]
      : []),
  ];
  const stop = () => {
    for (const off of offs) off();
  };
  function tell(message: string) {
    if (told) return;
    told = true;
    stop();
    onRevoked(message);
  }
  return stop;
}
