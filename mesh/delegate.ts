import type { AgentHub, BuiltinSkill } from './agent-hub.ts';
import { targetName } from './agent-records.ts';
import { MeshError, type Mesh } from './mesh.ts';
import { randomId } from './ids.ts';
import type { RegistryClient } from './registry-client.ts';
import { payloadOf, type MeshMessage, type Task } from './protocol/index.ts';
import { silentLogger, type Logger } from './types.ts';

/** Which path carried a delegated task (docs/sidecar.md, the `delegate` result); `local` = this peer ran it itself. */
export type Tier = 'direct' | 'relay' | 'task_queue' | 'local';

export interface DelegateRoute {
  tier: Tier;
  peer_id?: string;
  agent_id?: string;
  task_id?: string;
}
export interface DelegateResult extends DelegateRoute {
  result: unknown;
}

export interface DelegateDeps {
  hub: AgentHub;
  mesh: Mesh;
  registry: RegistryClient;
  logger?: Logger;
}

export interface DelegateRequest {
  skill: string;
  args?: unknown;
  /** A peer to run it on; default: the best agent with the skill. */
  targetPeer?: string;
  /** A registry record (`name@peer`, a peer id, or an HTTP-only agent's id). */
  targetAgent?: string;
  timeoutMs: number;
  sourceAgent?: string;
  /** For the queue tier: a retried task with a key fails instead of running twice. */
  idempotencyKey?: string;
  onChunk?: (text: string) => void;
  /** Told each tier as it is tried (a dashboard shows where the task is). */
  onRoute?: (route: DelegateRoute) => void;
  /** How to wait for a queued task; default: polling the registry. */
  waitForTask?: (taskId: string, timeoutMs: number) => Promise<Task>;
  /** Stops waiting; a task sent over a DataChannel is cancelled at the agent running it. */
  signal?: AbortSignal;
}

/**
 * Runs a skill on another agent, choosing the tier by itself: a live DataChannel (direct, or over
 * a TURN relay), else the registry's HTTP task queue. Only a transport failure falls through to
 * the queue; the remote's own error is the answer. Shared by the sidecar's `delegate` skill and
 * the dashboard's dispatch.
 */
export async function delegate(d: DelegateDeps, req: DelegateRequest): Promise<DelegateResult> {
  const { hub, mesh, registry } = d;
  const { skill, timeoutMs } = req;
  const report = (r: DelegateRoute) => (req.onRoute?.(r), r);
  let peer = req.targetPeer;
  let agentId = req.targetAgent;

  if (!peer) {
    let unreachable = '';
    const agents = await registry.listAgents().catch((err: Error) => {
      // Control plane down, data plane up: the peers we have links to can still be asked.
      unreachable = err.message;
      (d.logger ?? silentLogger).warn(`[delegate] registry unreachable (${err.message}); asking linked peers for "${skill}"`);
      return undefined;
    });
    if (agents) {
      // Choose an agent with the skill, on another peer first: one present on signaling with a live
      // link, then one present (it can link, or take the queue), then any. A peer whose sidecar was
      // killed stays `active` in the registry for up to 90 s, and its link looks open for seconds.
      const withSkill = agents.filter((r) => r.health !== 'offline' && r.capabilities.skills.includes(skill));
      const candidates = agentId ? withSkill.filter((r) => r.agent_id === agentId) : withSkill;
      const peerOf = (r: (typeof agents)[number]) => r.peer_id || r.sidecar_peer_id;
      // Among equals, an agent's own record before its peer's (the answer then names who ran it).
      const rank = (r: (typeof agents)[number]) =>
        (mesh.signaling.present.has(peerOf(r)) ? 0 : 4) + (mesh.isConnected(peerOf(r)) ? 0 : 2) + (r.agent_id === peerOf(r) ? 1 : 0);
      const others = candidates.filter((r) => peerOf(r) !== mesh.peerId).sort((x, y) => rank(x) - rank(y));
      const pick = others[0] ?? [...candidates].sort((x, y) => rank(x) - rank(y))[0];
      if (pick) {
        peer = peerOf(pick);
        agentId ??= pick.agent_id;
      }
    } else {
      // A record id names its peer: `name@peer`, or the peer's own record.
      if (agentId?.includes('@')) peer = agentId.slice(agentId.lastIndexOf('@') + 1);
      else if (agentId && mesh.isConnected(agentId)) peer = agentId;
      else peer = await linkedPeerWith(mesh, skill);
      if (!peer && !hub.hasSkill(skill)) throw new Error(`the registry is unreachable (${unreachable}) and no linked peer has skill "${skill}"`);
    }
  }
  // A named agent's record is `name@peer`, a legacy agent's its own name: the message names it on that peer.
  const name = agentId && peer ? targetName(agentId, peer) : undefined;

  if (!peer || peer === mesh.peerId) {
    if (!hub.hasSkill(skill)) throw new Error(`no agent has skill "${skill}"`);
    const route = report({ tier: 'local', peer_id: mesh.peerId, ...(agentId && { agent_id: agentId }) });
    const result = await hub.runTask(skill, req.args, {
      timeoutMs,
      ...(name && { targetAgent: name }),
      ...(req.sourceAgent && { sourceAgent: req.sourceAgent }),
    });
    return { ...route, result };
  }

  // Tier 1/2: a live DataChannel (direct, or over a TURN relay).
  if (mesh.isConnected(peer)) {
    const path = (await mesh.link(peer)!.stats()).path;
    const route = report({ tier: path === 'relay' ? 'relay' : 'direct', peer_id: peer, ...(agentId && { agent_id: agentId }) });
    const msg: MeshMessage = { type: 'task_request', request_id: `dg-${randomId(6)}`, payload: { skill, args: req.args, timeout_ms: timeoutMs } };
    if (req.sourceAgent) msg.source_agent = req.sourceAgent;
    if (name) msg.target_agent = name;
    // Giving up tells the agent running it (mesh/protocol: cancel), which stops its work.
    const cancel = () =>
      void mesh
        .send(peer!, { type: 'cancel', request_id: msg.request_id, ...(name && { target_agent: name }), payload: { reason: 'the requester gave up' } })
        .catch(() => {});
    req.signal?.addEventListener('abort', cancel, { once: true });
    try {
      const r = await mesh.request(peer, msg, {
        timeoutMs,
        ...(req.signal && { signal: req.signal }),
        ...(req.onChunk && { onChunk: (c) => req.onChunk!(payloadOf(c, 'task_stream_chunk')?.text ?? '') }),
      });
      const p = payloadOf(r, 'task_response');
      if (!p) throw new Error(`${peer} answered ${r.type} with a payload that does not fit a task_response`);
      if (p.error) throw new Error(p.error);
      return { ...route, result: p.result };
    } catch (err) {
      if (!(err instanceof MeshError) || !['not_connected', 'link_lost'].includes(err.code)) throw err;
      (d.logger ?? silentLogger).warn(`[delegate] link to ${peer} failed (${err.message}); using the task queue`);
    } finally {
      req.signal?.removeEventListener('abort', cancel);
    }
  }
  if (req.signal?.aborted) throw new MeshError('aborted', 'delegate cancelled');

  // Tier 3: the registry's HTTP task queue; the target's peer claims it with its heartbeat.
  const sub = await registry.submitTask({
    skill,
    target_agent_id: agentId ?? peer,
    source_agent_id: mesh.peerId,
    payload: req.args ?? {},
    ttl: Math.max(1, Math.ceil(timeoutMs / 1000)),
    ...(req.idempotencyKey && { idempotency_key: req.idempotencyKey }),
  });
  const route = report({ tier: 'task_queue', peer_id: peer, ...(agentId && { agent_id: agentId }), task_id: sub.task_id });
  const task = await (req.waitForTask ?? pollTask(registry, req.signal))(sub.task_id, timeoutMs);
  if (task.state === 'failed') throw new Error(`task ${task.id} failed: ${task.error}`);
  return { ...route, result: task.result };
}

/** The first linked peer whose agents have the skill (each answers `skill_query` itself). */
async function linkedPeerWith(mesh: Mesh, skill: string): Promise<string | undefined> {
  const answers = await Promise.all(
    mesh.peers().map((p) =>
      mesh.request(p, { type: 'skill_query', payload: { skill } }, { timeoutMs: 3000 }).then(
        (r) => (payloadOf(r, 'skill_response')?.available === true ? p : undefined),
        () => undefined,
      ),
    ),
  );
  return answers.find((p) => p !== undefined);
}

const pollTask =
  (registry: RegistryClient, signal?: AbortSignal) =>
  async (taskId: string, timeoutMs: number): Promise<Task> => {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs);
    const stop = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await registry.waitForTask(taskId, { intervalMs: 250, signal: ac.signal });
    } catch (err) {
      if (signal?.aborted) throw new MeshError('aborted', `stopped waiting for task ${taskId}`);
      if (ac.signal.aborted) throw new Error(`task ${taskId} did not complete within ${timeoutMs} ms (tier task_queue)`);
      throw err;
    } finally {
      clearTimeout(t);
      signal?.removeEventListener('abort', stop);
    }
  };

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const opt = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export const DELEGATE_DESCRIPTION =
  'Runs a skill on another agent: {skill, args, target_peer?, target_agent?, timeout_ms?}. Direct DataChannel first, the registry task queue when there is no live link; the result names the tier.';
export const DELEGATE_ARGS = {
  type: 'object',
  properties: {
    skill: { type: 'string' },
    args: {},
    target_peer: { type: 'string' },
    target_agent: { type: 'string' },
    timeout_ms: { type: 'integer', minimum: 1 },
  },
  required: ['skill'],
};

/** The `delegate` skill of a peer (the sidecar's and the tab's): `delegate()` for its agents, streaming and cancellable. */
export function delegateSkill(d: DelegateDeps): BuiltinSkill {
  return (args, ctx) => {
    const a = obj(args);
    const skill = opt(a.skill);
    if (!skill) throw new Error('skill is required');
    const targetPeer = opt(a.target_peer);
    const targetAgent = opt(a.target_agent);
    return delegate(d, {
      skill,
      args: a.args,
      ...(targetPeer && { targetPeer }),
      ...(targetAgent && { targetAgent }),
      timeoutMs: typeof a.timeout_ms === 'number' && a.timeout_ms > 0 ? Math.min(a.timeout_ms, 3_600_000) : 60_000,
      ...(ctx.sourceAgent && { sourceAgent: ctx.sourceAgent }),
      onChunk: (text) => ctx.stream(text),
      signal: ctx.signal,
    });
  };
}
