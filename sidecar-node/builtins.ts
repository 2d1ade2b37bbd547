import type { AgentHub, SkillContext } from '../mesh/agent-hub.ts';
import { Mesh, MeshError } from '../mesh/mesh.ts';
import type { RegistryClient } from '../mesh/registry-client.ts';
import type { AgentRecord, MeshMessage } from '../mesh/protocol/index.ts';
import { MeshMessageSchema } from '../mesh/protocol/index.ts';
import type { Logger } from '../mesh/types.ts';

/** Which path carried a delegated task (interfaces #9); `local` = this peer ran it itself. */
export type Tier = 'direct' | 'relay' | 'task_queue' | 'local';

export interface DelegateResult {
  tier: Tier;
  peer_id?: string;
  agent_id?: string;
  task_id?: string;
  result: unknown;
}

interface Deps {
  hub: AgentHub;
  mesh: Mesh;
  registry: RegistryClient;
  log: Logger;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`${what} is required`);
  return v;
};

/** Registers the sidecar's own skills on the hub. */
export function registerBuiltins(d: Deps): void {
  const { hub, mesh, registry } = d;

  hub.registerSkill('echo', 'Returns its arguments unchanged.', (args) => args);

  hub.registerSkill('list_agents', 'Agents known to the registry, with health, skills and the peer they live on.', async () =>
    (await registry.listAgents()).map(summary),
  );

  hub.registerSkill('find_agent', 'The best active agent for a skill: {skill} -> agent or null.', async (args) => {
    const rec = await registry.route(str(obj(args).skill, 'skill'));
    return rec ? summary(rec) : null;
  });

  hub.registerSkill('mesh_send', 'Sends a mesh message to a peer: {target_peer, message}.', async (args) => {
    const a = obj(args);
    const target = str(a.target_peer, 'target_peer');
    const msg = MeshMessageSchema.parse(a.message);
    await mesh.send(target, msg);
    return { sent: true, target_peer: target };
  });

  hub.registerSkill('mesh_broadcast', 'Sends a mesh message to every connected peer: {message}.', async (args) => {
    const msg = MeshMessageSchema.parse(obj(args).message);
    return mesh.broadcast(msg);
  });

  hub.registerSkill(
    'delegate',
    'Runs a skill on another agent: {skill, args, target_peer?, target_agent?, timeout_ms?}. Direct DataChannel first, the registry task queue when there is no live link; the result names the tier.',
    (args, ctx) => delegate(d, obj(args), ctx),
  );
}

function summary(r: AgentRecord) {
  return { agent_id: r.agent_id, peer_id: r.peer_id, health: r.health, skills: r.capabilities.skills, hostname: r.hostname, status: r.status };
}

async function delegate(d: Deps, a: Record<string, unknown>, ctx: SkillContext): Promise<DelegateResult> {
  const { hub, mesh, registry, log } = d;
  const skill = str(a.skill, 'skill');
  const timeoutMs = typeof a.timeout_ms === 'number' && a.timeout_ms > 0 ? Math.min(a.timeout_ms, 3_600_000) : 60_000;
  let peer = typeof a.target_peer === 'string' && a.target_peer ? a.target_peer : undefined;
  let agentId = typeof a.target_agent === 'string' && a.target_agent ? a.target_agent : undefined;

  if (!peer) {
    // Choose an agent with the skill on another peer: one present on signaling with a live link,
    // then one present (it can link, or take the queue), then any. A peer whose sidecar was killed
    // stays `active` in the registry for up to 90 s, and its link looks open for a few seconds more.
    const agents = (await registry.listAgents()).filter((r) => r.health !== 'offline' && r.capabilities.skills.includes(skill));
    const candidates = agentId ? agents.filter((r) => r.agent_id === agentId) : agents;
    const rank = (peer: string) => (mesh.signaling.present.has(peer) ? 0 : 2) + (mesh.isConnected(peer) ? 0 : 1);
    const others = candidates.filter((r) => r.peer_id !== mesh.peerId).sort((x, y) => rank(x.peer_id) - rank(y.peer_id));
    const pick = others[0] ?? candidates[0];
    if (pick) {
      peer = pick.peer_id;
      agentId ??= pick.agent_id;
    }
  }
  if (!peer || peer === mesh.peerId) {
    if (!hub.hasSkill(skill)) throw new Error(`no agent has skill "${skill}"`);
    return { tier: 'local', peer_id: mesh.peerId, result: await hub.runTask(skill, a.args, { timeoutMs }) };
  }

  // Tier 1/2: a live DataChannel (direct, or over a TURN relay).
  if (mesh.isConnected(peer)) {
    const path = (await mesh.link(peer)!.stats()).path;
    const msg: MeshMessage = { type: 'task_request', payload: { skill, args: a.args, timeout_ms: timeoutMs } };
    if (ctx.sourceAgent) msg.source_agent = ctx.sourceAgent;
    const localAgent = agentId?.includes('@') ? agentId.split('@')[0] : undefined;
    if (localAgent) msg.target_agent = localAgent;
    try {
      const r = await mesh.request(peer, msg, { timeoutMs, onChunk: (c) => ctx.stream(String((c.payload as { text?: unknown })?.text ?? '')) });
      const p = obj(r.payload);
      if (typeof p.error === 'string' && p.error) throw new Error(p.error);
      return { tier: path === 'relay' ? 'relay' : 'direct', peer_id: peer, ...(agentId && { agent_id: agentId }), result: p.result };
    } catch (err) {
      // Only a transport failure falls through to the queue; the remote's own error is the answer.
      if (!(err instanceof MeshError) || !['not_connected', 'link_lost'].includes(err.code)) throw err;
      log.warn(`[delegate] link to ${peer} failed (${err.message}); using the task queue`);
    }
  }

  // Tier 3: the registry's HTTP task queue; the target's sidecar picks it up with its heartbeat.
  const sub = await registry.submitTask({
    skill,
    target_agent_id: agentId ?? peer,
    source_agent_id: mesh.peerId,
    payload: a.args ?? {},
    ttl: Math.max(1, Math.ceil(timeoutMs / 1000)),
  });
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs);
  try {
    const task = await registry.waitForTask(sub.task_id, { intervalMs: 250, signal: ac.signal });
    if (task.state === 'failed') throw new Error(`task ${task.id} failed: ${task.error}`);
    return { tier: 'task_queue', peer_id: peer, ...(agentId && { agent_id: agentId }), task_id: task.id, result: task.result };
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`task ${sub.task_id} did not complete within ${timeoutMs} ms (tier task_queue)`);
    throw err;
  } finally {
    clearTimeout(t);
  }
}
