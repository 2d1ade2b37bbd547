import WebSocket from 'ws';
import { hostname } from 'node:os';
import type { AgentHub } from '../mesh/agent-hub.ts';
import type { Mesh } from '../mesh/mesh.ts';
import { RegistryClient, RegistryError } from '../mesh/registry-client.ts';
import { Backoff, sleep } from '../mesh/backoff.ts';
import type { WebSocketCtor, Logger } from '../mesh/types.ts';
import { PeerRuntime } from '../mesh/runtime.ts';
import { describeCertificate } from '../mesh/identity/join.ts';
import type { SidecarConfig } from './config.ts';
import { IpcServer } from './ipc-server.ts';
import { registerBuiltins } from './builtins.ts';
import { turnFromSecret } from './ice.ts';
import { loadWebRtcStack } from './webrtc.ts';
import { sidecarIdentity } from './identity.ts';

export { REVOKED_EXIT_CODE } from '../mesh/revocation.ts';

export interface Sidecar {
  ipc: IpcServer;
  /** Resolves once the peer is registered with the registry (token, ICE config, mesh ready). */
  ready: Promise<{ peerId: string; mesh: Mesh; hub: AgentHub }>;
  /** Resolves, with the registry's words, if an admin revokes this sidecar while it runs (it never rejects). */
  revoked: Promise<string>;
  stop(): Promise<void>;
}

/** The registry refused the credential at start (unknown, deleted or revoked): retrying cannot help. */
export class CredentialRefusedError extends Error {}

/**
 * Starts a sidecar: the IPC socket first (agents may connect at once), then — retrying with
 * backoff while the registry is unreachable — a token, then the peer runtime (mesh/runtime.ts) with
 * Node's WebSocket and WebRTC stack, this machine's TURN settings and its identity files.
 */
export async function startSidecar(cfg: SidecarConfig, log: Logger, listening?: IpcServer): Promise<Sidecar> {
  const ipc = listening ?? new IpcServer(cfg.ipcSocket, log);
  if (!listening) await ipc.listen();

  const stopCtl = new AbortController();
  const registry = new RegistryClient({
    baseUrl: cfg.registryUrl,
    ...(cfg.apiKey ? { apiKey: cfg.apiKey } : { deviceToken: cfg.deviceToken! }),
  });
  let tellRevoked: (message: string) => void = () => {};
  const revoked = new Promise<string>((resolve) => {
    tellRevoked = resolve;
  });
  let runtime: PeerRuntime | undefined;

  const ready = (async () => {
    const rtc = await loadWebRtcStack(cfg.webrtcStack, log);
    const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
    for (;;) {
      try {
        await registry.token(true);
        break;
      } catch (err) {
        if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) {
          throw new CredentialRefusedError(`the registry refused the credentials: ${err.message}`);
        }
        const d = backoff.next();
        log.warn(
          `[sidecar] registry at ${cfg.registryUrl} not reachable (${(err as Error).message}); retrying in ${d} ms — is it running, and is REGISTRY_URL right?`,
        );
        await sleep(d, stopCtl.signal);
      }
    }
    const peerId = registry.peer!.peer_id;
    log.info(`[sidecar] authenticated as peer ${peerId}`);
    const turn = turnFromSecret(cfg.turnUrl, cfg.turnSecret);
    const rt = new PeerRuntime({
      registry,
      peerId,
      signalingUrl: cfg.signalingUrl,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      RTCPeerConnection: rtc.RTCPeerConnection,
      iceRestart: false,
      iceServers: (fromRegistry) => rtc.iceServers([...fromRegistry, ...turn]),
      iceTransportPolicy: cfg.iceTransportPolicy,
      maxMessageBytes: cfg.maxMessageBytes,
      // Key, pinned CA and certificate before any link: every link proves who is on each end (docs/pairing.md).
      proveIdentity: () => sidecarIdentity(cfg, registry, peerId, log),
      presence: { hostname: cfg.hostname ?? hostname(), mode: 'sidecar', intervalMs: cfg.heartbeatMs },
      delegate: false,
      // Revoked while running: stop everything at once (no retries); main.ts exits with REVOKED_EXIT_CODE.
      onRevoked: (message) => tellRevoked(message),
      onCertificateRenewed: (c) => log.info(`[identity] certificate renewed: ${describeCertificate(c)}`),
      logger: log,
    });
    runtime = rt;
    const { mesh, hub, signaling } = rt;
    mesh.events.on('link_refused', (p, reason, message) => log.warn(`[identity] link to ${p} refused: ${reason}: ${message}`));
    mesh.events.on('peer_connected', (p) => log.info(`[mesh] peer connected: ${p}`));
    mesh.events.on('peer_disconnected', (p, why) => log.info(`[mesh] peer disconnected: ${p} (${why})`));
    signaling.on('stopped', (why) => {
      if (why !== 'closed' && why !== 'revoked') log.error(`[sidecar] signaling stopped: ${why}`);
    });
    registerBuiltins({ hub, mesh, registry, log });
    if (stopCtl.signal.aborted) throw new Error('stopped');
    ipc.setHub(hub);
    await rt.join();
    return { peerId, mesh, hub };
  })();
  ready.catch(() => {});

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopCtl.abort(new Error('stopped'));
      await runtime?.stop();
      await ipc.close();
    })());
  return { ipc, ready, revoked, stop };
}
