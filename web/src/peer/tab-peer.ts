/**
 * This tab as a mesh peer: the peer runtime as every tab runs it (tab-runtime.ts), the registry through
 * RegistryClient, the worker agents, and the live dashboard feeds (registry events over SSE, mesh
 * link events). No WebRTC logic here.
 */
import { AgentClient, attachPort, portTransport } from '../../../mesh/index.ts';
import { RegistryClient, RegistryError } from '../../../mesh/registry-client.ts';
import { IndexedDbKeyStore, IndexedDbTrustRecords } from '../../../mesh/identity/index.ts';
import { CaChangedError, describeCertificate, joinWithIdentity, type JoinedIdentity } from '../../../mesh/identity/join.ts';
import { payloadOf, skillSpec } from '../../../mesh/protocol/index.ts';
import { useStore } from '../state/store.ts';
import type { Action } from '../state/actions.ts';
import { chatKey } from '../state/chat-slice.ts';
import { WorkerAgents } from './worker-agents.ts';
import { createTabRuntime } from './tab-runtime.ts';
import { RegistryFeed } from './registry-feed.ts';
import { dispatchTask } from './dispatch.ts';
import { targetName } from '../../../mesh/agent-records.ts';
import { browserName } from '../lib/browser-name.ts';
import { errorCode } from '../../../mesh/error-fields.ts';

const withTarget = (name: string | undefined) => (name ? { target_agent: name } : {});

export interface TabPeer {
  peerId: string;
  /** Known once the registry answered (or from the saved state). */
  role: string | undefined;
  /** True once signed in with the registry: signaling, presence and the live feed run. */
  readonly joined: boolean;
  /** Resolves when the agents saved in this browser run (or failed to start): actions that need them wait for it. */
  agentsReady: Promise<void>;
  /** Whether this browser's own agents can carry out the action without the registry or a link. */
  runsHere(a: Action): boolean;
  /** Signs in with the registry and joins the mesh; rejects while it cannot be reached (call again) or refuses. */
  join(): Promise<void>;
  /** Joined, but the live feed is down: try it again now (the network came back, the page is visible). */
  retryNow(): void;
  do(a: Action): Promise<void>;
  /** Stops everything; `revoked`: the registry already removed this peer's records. */
  stop(revoked?: boolean): Promise<void>;
}

/** The registry refused the credential (as opposed to: could not be reached). */
export function isAuthError(e: unknown): boolean {
  return (e instanceof RegistryError && (e.status === 401 || e.status === 403)) || errorCode(e) === 'ca_changed';
}

const STATS_EVERY_MS = 2000;
const LINK_WAIT_MS = 20_000;

/** Device tokens from pairing carry this prefix (server/auth/secrets.ts); anything else is an API key. */
const DEVICE_TOKEN_PREFIX = 'dt_';

/**
 * Exchanges the credential for a JWT: a device token as such; an API key asking for our own peer id
 * first, then — only if the registry says the key is bound to its own id (403) or our id is taken
 * (409) — for the key's own id. A wrong key costs one request.
 */
export async function signIn(credential: string, preferredPeerId: string): Promise<RegistryClient> {
  const baseUrl = location.origin;
  if (credential.startsWith(DEVICE_TOKEN_PREFIX)) {
    const c = new RegistryClient({ baseUrl, deviceToken: credential });
    await c.token();
    return c;
  }
  const own = new RegistryClient({ baseUrl, apiKey: credential, peerId: preferredPeerId });
  try {
    await own.token();
    return own;
  } catch (e) {
    if (!(e instanceof RegistryError && (e.status === 403 || e.status === 409))) throw e;
  }
  const bound = new RegistryClient({ baseUrl, apiKey: credential });
  await bound.token();
  return bound;
}

/** The client for a credential that signed in before as `peerId` (no request is made). */
export function clientFor(credential: string, peerId: string): RegistryClient {
  const baseUrl = location.origin;
  return credential.startsWith(DEVICE_TOKEN_PREFIX)
    ? new RegistryClient({ baseUrl, deviceToken: credential })
    : new RegistryClient({ baseUrl, apiKey: credential, peerId });
}

/**
 * This browser's device key (non-extractable, IndexedDB) and a registry certificate for it, so
 * every link proves who is at each end (docs/trust.md). A registry whose CA differs from the one
 * this browser pinned is refused: that is either a reinstalled registry or an impostor.
 */
async function proveIdentity(client: RegistryClient, peerId: string): Promise<JoinedIdentity | null> {
  const store = useStore.getState;
  try {
    const joined = await joinWithIdentity({ registry: client, peerId, keyStore: new IndexedDbKeyStore(), records: new IndexedDbTrustRecords() });
    store().setSession({ identity: describeCertificate(joined.certificate) });
    return joined;
  } catch (e) {
    if (e instanceof CaChangedError) {
      throw Object.assign(
        new Error(
          `This registry's certificate authority is not the one this browser trusted before (${e.message}). Not joining: if the registry was reinstalled on purpose, clear this site's data and sign in again.`,
        ),
        { status: 403, code: 'ca_changed' },
      );
    }
    // Without a certificate, links to peers that require proofs are refused (and reported); the rest works.
    store().setSession({ identity: undefined });
    store().notify('error', `No device certificate: ${(e as Error).message}. Peers that require identity proofs will refuse links.`);
    return null;
  }
}

/**
 * This browser's peer in two steps: at once, the mesh core and the worker agents (they run, and
 * answer this browser, while the registry is unreachable); then `join()` — sign in, identity,
 * signaling, registry presence and the live feed — retried by the leader until it succeeds.
 */
export function openTabPeer(client: RegistryClient, peerId: string, knownRole: string | undefined, onRevoked: (message: string) => void): TabPeer {
  const store = useStore.getState;
  const runtime = createTabRuntime({
    registry: client,
    peerId,
    ...(knownRole ? { role: knownRole } : {}),
    proveIdentity: () => proveIdentity(client, peerId),
    presence: {
      hostname: browserName(),
      // Kept in the registry the way a sidecar is: a record for this peer and one per worker agent.
      agents: () =>
        workers.list().map((w) => ({
          name: w.id,
          skills: w.skills.map((s) => skillSpec({ name: s.name, description: s.description, args_schema: s.args_schema })),
          description: w.description,
        })),
      watchTasks: false, // the dashboard's feed reads the event stream and forwards task and policy events
    },
    beforePresence: async () => {
      if (store().mesh.signaling === 'idle') store().setMesh({ signaling: 'connecting' });
      timers.push(setInterval(() => void refreshStats(), STATS_EVERY_MS));
      feed.start();
      // Queued work is sent after join() resolves: the agents saved here must be back first.
      await agentsReady.catch((e: Error) => store().notify('error', `This browser's agents did not all start: ${e.message}`));
    },
    // Revoked (any channel, once): the leader stops this peer and says so; nothing retries.
    onRevoked,
    onCertificateRenewed: (c) => store().setSession({ identity: describeCertificate(c) }),
  });
  const { signaling, mesh, hub, presence } = runtime;

  // The dashboard talks to agents as an agent itself (chat, tasks), through the same hub.
  const dashPort = new MessageChannel();
  dashPort.port1.start();
  dashPort.port2.start();
  const dashAttach = attachPort(hub, dashPort.port1);
  const dash = new AgentClient(portTransport(dashPort.port2), { name: `dashboard-${peerId}`.slice(0, 128) });

  const offs: Array<() => void> = [];
  const timers: Array<ReturnType<typeof setInterval>> = [];
  const setPeers = () => store().setMesh({ peers: [...signaling.present].sort() });
  offs.push(
    signaling.on('connected', () => {
      store().setMesh({ signaling: 'open' });
      setPeers();
    }),
    signaling.on('peers', setPeers),
    signaling.on('peer_joined', setPeers),
    signaling.on('peer_left', setPeers),
    signaling.on('disconnected', (info) => store().setMesh({ signaling: info.reconnecting ? 'closed' : 'idle' })),
    signaling.on('stopped', (why) => {
      if (why === 'replaced') {
        store().setMesh({ signaling: 'replaced' });
        store().notify('error', "Another window opened this browser's peer and took it over. Reload this page to take it back.");
      } else if (why === 'refused') {
        store().setMesh({ signaling: 'idle' });
        store().notify('error', "The registry refused this browser's credential. Sign out and sign in again.");
      }
    }),
    mesh.events.on('link_refused', (p, reason, message) => {
      store().notify('error', `The link to ${p} was refused (${reason}): ${message}`);
    }),
    mesh.events.on('link_state', (p, state) => {
      const old = store().mesh.links[p];
      store().setLink({ peer_id: p, state, path: old?.path ?? 'unknown', rtt_ms: old?.rtt_ms });
    }),
  );

  const refreshStats = async () => {
    const stats = await mesh.linkStats().catch(() => []);
    const seen = new Set<string>();
    for (const l of stats) {
      seen.add(l.peer_id);
      store().setLink({ peer_id: l.peer_id, state: l.state, path: l.path, rtt_ms: l.rtt_ms === undefined ? undefined : Math.round(l.rtt_ms * 10) / 10 });
    }
    for (const id of Object.keys(store().mesh.links)) if (!seen.has(id)) store().dropLink(id);
  };
  offs.push(mesh.events.on('peer_connected', () => void refreshStats()));

  // Every change of this browser's agents (started, ready, new skills, stopped) re-announces them.
  const workers = new WorkerAgents(hub, mesh, () => presence.kick());
  const feed = new RegistryFeed(
    client,
    (t) => presence.taskAnnounced(t),
    (p) => runtime.setPolicy(p),
  );

  store().setMesh({ signaling: 'idle', links: {}, peers: [] });
  const agentsReady = (async () => {
    await dash.register();
    await workers.restore();
    if (store().localAgents.length === 0 && !(await workers.hasSaved())) await workers.start('echo');
    await workers.started();
  })();

  /** Answers being streamed, per chat: Stop aborts the request, which sends `cancel` to the agent. */
  const streaming = new Map<string, AbortController>();
  const prompt = async (a: Extract<Action, { type: 'prompt' }>) => {
    const key = chatKey(a.agent, a.peerId);
    const rid = crypto.randomUUID().slice(0, 12);
    // A message queued offline is already in the conversation: mark it sent.
    store().chatAppend(key, a.queuedAt ? `q-${a.queuedAt}` : `${rid}-me`, 'me', a.text, true, true);
    // The answer is text, tool calls, text…: text after a tool call starts a new bubble below it.
    let seg = 0;
    let segId = `${rid}-agent-0`;
    let segText = false;
    let streamed = false;
    store().chatAppend(key, segId, 'agent', '', false);
    const abort = new AbortController();
    streaming.get(key)?.abort();
    streaming.set(key, abort);
    try {
      // Sent right after joining (a message queued offline), the link may still be forming: wait for it.
      if (a.peerId !== peerId && runtime.joined && !mesh.isConnected(a.peerId)) await mesh.connect(a.peerId, LINK_WAIT_MS).catch(() => {});
      const r = await dash.request(
        a.peerId === peerId ? 'local' : a.peerId,
        {
          type: 'agent_prompt',
          request_id: rid,
          ...withTarget(targetName(a.agent, a.peerId)),
          payload: { text: a.text, session_id: `${peerId}:${a.agent}` },
        },
        {
          timeoutMs: 300_000,
          signal: abort.signal,
          onChunk: (m) => {
            const chunk = payloadOf(m, 'agent_stream_chunk');
            const tool = chunk?.tool;
            const text = (chunk ?? payloadOf(m, 'task_stream_chunk'))?.text;
            if (tool) {
              if (segText || seg === 0) store().chatAppend(key, segId, 'agent', '', true);
              store().chatTool(key, `${rid}-tool-${tool.call_id}`, tool);
              segId = `${rid}-agent-${++seg}`;
              segText = false;
            } else if (text) {
              streamed = segText = true;
              store().chatAppend(key, segId, 'agent', text, false);
            }
          },
        },
      );
      const p = payloadOf(r, 'agent_response');
      if (p?.error) throw new Error(p.error);
      const text = p ? p.text : JSON.stringify(r.payload);
      if (!streamed) store().chatAppend(key, segId, 'agent', text, true, true);
      else if (segText) store().chatAppend(key, segId, 'agent', '', true);
    } catch (e) {
      if (segText || seg === 0) store().chatAppend(key, segId, 'agent', '', true);
      const stopped = abort.signal.aborted;
      store().chatAppend(key, `${rid}-err`, 'system', stopped ? 'Stopped.' : `Not answered: ${(e as Error).message}`, true);
      if (!stopped) throw e;
    } finally {
      if (streaming.get(key) === abort) streaming.delete(key);
    }
  };

  return {
    peerId,
    get role() {
      return client.peer?.role ?? knownRole;
    },
    get joined() {
      return runtime.joined;
    },
    agentsReady,
    runsHere: (a) =>
      (a.type === 'prompt' && a.peerId === peerId) ||
      (a.type === 'dispatch' && hub.hasSkill(a.target.skill) && (a.target.kind === 'skill' || a.target.agent.endsWith(`@${peerId}`))),
    join: () => runtime.join(),
    retryNow: () => feed.retryNow(),
    do: async (a) => {
      switch (a.type) {
        case 'start_agent':
          await workers.start(a.kind);
          return;
        case 'add_llm_agent':
          await workers.startLlm(a.definition);
          return;
        case 'stop_prompt':
          streaming.get(chatKey(a.agent, a.peerId))?.abort();
          return;
        case 'stop_agent':
          await workers.stop(a.id);
          return;
        case 'restart_agent':
          await workers.restart(a.id);
          return;
        case 'remove_agent':
          await workers.remove(a.id);
          return;
        case 'add_skill':
          await workers.addSkill(a.agentId, { name: a.name, code: a.code, timeoutMs: a.timeoutMs });
          return;
        case 'remove_skill':
          await workers.removeSkill(a.agentId, a.name);
          return;
        case 'prompt':
          await prompt(a);
          return;
        case 'dispatch':
          await dispatchTask({ hub, mesh, registry: client, feed }, a);
          return;
        default:
          throw new Error(`unexpected action ${a.type}`);
      }
    },
    stop: async (revoked = false) => {
      for (const t of timers) clearInterval(t);
      for (const off of offs) off();
      // Presence stops first (it removes this browser's records once the last heartbeat is done), so
      // stopping the agents below sends no heartbeat that could land after the next page's first one.
      const stopped = runtime.stop(!revoked);
      feed.stop();
      workers.stopAll();
      dashAttach.detach();
      await stopped;
    },
  };
}
