import WebSocket from 'ws';
import { hostname } from 'node:os';
import { AgentHub } from '../mesh/agent-hub.ts';
import { Mesh } from '../mesh/mesh.ts';
import { SignalingClient } from '../mesh/signaling-client.ts';
import { RegistryClient, RegistryError } from '../mesh/registry-client.ts';
import { Backoff, sleep } from '../mesh/backoff.ts';
import type { WebSocketCtor, Logger } from '../mesh/types.ts';
import type { SidecarConfig } from './config.ts';
import { IpcServer } from './ipc-server.ts';
import { registerBuiltins } from './builtins.ts';
import { registerLlmSupport } from '../mesh/llm/catalog.ts';
import { turnFromSecret } from './ice.ts';
import { loadWebRtcStack } from './webrtc.ts';
import { RegistryPresence } from '../mesh/registry-presence.ts';
import { sidecarIdentity } from './identity.ts';
import { RENEW_CHECK_MS, describeCertificate, skillGuard } from '../mesh/identity/join.ts';
import type { SkillPolicy } from '../mesh/protocol/index.ts';
import { watchRevocation } from '../mesh/revocation.ts';

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

/** How often ICE servers are fetched again (TURN credentials are ephemeral). */
const ICE_REFRESH_MS = 10 * 60_000;

/**
 * Starts a sidecar: the IPC socket first (agents may connect at once), then — retrying with
 * backoff while the registry is unreachable — token, ICE config, signaling, mesh, hub, heartbeats.
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
  let parts: { signaling: SignalingClient; mesh: Mesh; hub: AgentHub; presence: RegistryPresence; iceTimer: ReturnType<typeof setInterval> } | undefined;

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
    // Key, pinned CA and certificate before any link: every link proves who is on each end (docs/pairing.md).
    const joined = await sidecarIdentity(cfg, registry, peerId, log);
    const { linkAuth } = joined;
    // A sidecar may run for longer than its certificate: renew it while running, before it lapses.
    const certTimer = setInterval(
      () =>
        void joined.renewIfDue().then(
          (c) => c && log.info(`[identity] certificate renewed: ${describeCertificate(c)}`),
          (e) => log.warn(`[identity] certificate renewal failed (retrying tomorrow): ${(e as Error).message}`),
        ),
      RENEW_CHECK_MS,
    );
    stopCtl.signal.addEventListener('abort', () => clearInterval(certTimer));

    let iceServers: RTCIceServer[] = turnFromEnv(cfg);
    let policy: RTCIceTransportPolicy = cfg.iceTransportPolicy;
    // Who may call which skill here (the registry's policy, enforced by this receiving peer too).
    let skillPolicy: SkillPolicy | undefined;
    const policyTimer = setInterval(
      () =>
        void registry
          .policy()
          .then((p) => {
            skillPolicy = p;
          })
          .catch(() => {}),
      15_000,
    );
    stopCtl.signal.addEventListener('abort', () => clearInterval(policyTimer));
    const loadIce = async () => {
      const c = await registry.config();
      iceServers = [...c.iceServers.map((s) => ({ ...s })), ...turnFromEnv(cfg)];
      if (cfg.iceTransportPolicy === 'all' && c.iceTransportPolicy === 'relay') policy = 'relay';
      if (c.skill_policy) skillPolicy = c.skill_policy;
    };
    await loadIce().catch((err) => log.warn(`[sidecar] /api/config failed (${(err as Error).message}); using local ICE settings`));
    const iceTimer = setInterval(() => void loadIce().catch(() => {}), ICE_REFRESH_MS);

    const signaling = new SignalingClient({
      url: cfg.signalingUrl,
      peerId,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      getToken: (refresh) => registry.token(refresh),
      logger: log,
    });
    let hub: AgentHub | undefined;
    const mesh = new Mesh({
      signaling,
      RTCPeerConnection: rtc.RTCPeerConnection,
      iceServers: () => rtc.iceServers(iceServers),
      get iceTransportPolicy() {
        return policy;
      },
      maxMessageBytes: cfg.maxMessageBytes,
      iceRestart: false,
      skills: () => hub?.skills() ?? [],
      linkAuth,
      logger: log,
    });
    mesh.events.on('link_refused', (p, reason, message) => log.warn(`[identity] link to ${p} refused: ${reason}: ${message}`));
    hub = new AgentHub({ mesh, logger: log, authorize: skillGuard(linkAuth, () => skillPolicy) });
    registerBuiltins({ hub, mesh, registry, log });
    registerLlmSupport(hub, { hub, mesh, registry, logger: log, policy: () => skillPolicy, role: () => registry.peer?.role ?? 'agent' }, { delegate: false });
    mesh.events.on('peer_connected', (p) => log.info(`[mesh] peer connected: ${p}`));
    mesh.events.on('peer_disconnected', (p, why) => log.info(`[mesh] peer disconnected: ${p} (${why})`));
    signaling.on('stopped', (why) => {
      if (why !== 'closed' && why !== 'revoked') log.error(`[sidecar] signaling stopped: ${why}`);
    });
    // Revoked while running: stop everything at once (no retries); main.ts exits with REVOKED_EXIT_CODE.
    watchRevocation({ registry, signaling }, (message) => tellRevoked(message));
    const presence = new RegistryPresence({
      registry,
      mesh,
      hub,
      hostname: cfg.hostname ?? hostname(),
      mode: 'sidecar',
      intervalMs: cfg.heartbeatMs,
      logger: log,
      policy: () => skillPolicy,
      onPolicy: (p) => {
        skillPolicy = p;
      },
    });
    parts = { signaling, mesh, hub, presence, iceTimer };
    if (stopCtl.signal.aborted) throw new Error('stopped');
    ipc.setHub(hub);
    signaling.start();
    presence.start();
    // Re-announce to the registry as soon as signaling is back (e.g. after a registry restart).
    signaling.on('connected', () => presence.kick());
    return { peerId, mesh, hub };
  })();
  ready.catch(() => {});

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopCtl.abort(new Error('stopped'));
      if (parts) {
        clearInterval(parts.iceTimer);
        await Promise.race([parts.presence.stop(), sleep(3000)]);
        parts.hub.close();
        parts.mesh.close();
        parts.signaling.stop();
      }
      await ipc.close();
    })());
  return { ipc, ready, revoked, stop };
}

function turnFromEnv(cfg: SidecarConfig): RTCIceServer[] {
  return turnFromSecret(cfg.turnUrl, cfg.turnSecret);
}
