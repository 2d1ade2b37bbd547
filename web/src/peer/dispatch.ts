/**
 * Dispatches a task and records which tier carried it (interfaces #9): a direct DataChannel
 * (host/srflx/prflx), a DataChannel over a TURN relay, or — when no link to the agent's peer is
 * open, or the link fails — the registry's HTTP task queue.
 */
import type { AgentClient, Mesh } from '../../../mesh/index.ts';
import type { RegistryClient } from '../../../mesh/registry-client.ts';
import { useStore } from '../state/store.ts';
import type { Action } from '../state/actions.ts';
import type { Tier } from '../state/views.ts';
import type { RegistryFeed } from './registry-feed.ts';
import { targetName } from '../lib/agent-names.ts';

const DIRECT_TIMEOUT_MS = 30_000;
const QUEUE_TIMEOUT_MS = 5 * 60_000;

export interface DispatchDeps { client: RegistryClient; mesh: Mesh; dash: AgentClient; feed: RegistryFeed; selfPeer: string }

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2) ?? 'null');

export async function dispatchTask(d: DispatchDeps, a: Extract<Action, { type: 'dispatch' }>): Promise<void> {
  const store = useStore.getState;
  const { target } = a;
  const id = crypto.randomUUID().slice(0, 12);
  const label = target.kind === 'skill' ? `${target.skill} (best agent)` : `${target.skill} on ${target.agent}`;
  store().upsertDispatch({ id, label, state: 'running', at: Date.now() });
  const done = (tier: Tier, result: unknown) => store().upsertDispatch({ id, state: 'completed', tier, result: show(result) });
  const failed = (tier: Tier | undefined, error: string) => store().upsertDispatch({ id, state: 'failed', tier, error });

  // Where does the agent live?
  let agent: { agent_id: string; peer_id: string } | null = null;
  try {
    if (target.kind === 'agent') {
      const rec = store().registry.agents.find((x) => x.agent_id === target.agent) ?? null;
      agent = rec ? { agent_id: rec.agent_id, peer_id: rec.peer_id } : null;
    } else {
      const rec = await d.client.route(target.skill);
      agent = rec ? { agent_id: rec.agent_id, peer_id: rec.peer_id || rec.sidecar_peer_id } : null;
    }
  } catch {
    agent = null; // the registry cannot route right now: the queue still takes the task
  }

  // Tier 1/2: a DataChannel (or this browser's own agents).
  if (agent && (agent.peer_id === d.selfPeer || d.mesh.isConnected(agent.peer_id))) {
    const local = agent.peer_id === d.selfPeer;
    const link = useStore.getState().mesh.links[agent.peer_id];
    const tier: Tier = !local && link?.path === 'relay' ? 'relay' : 'direct';
    store().upsertDispatch({ id, label: `${label} → ${agent.agent_id}${local ? '' : ` on ${agent.peer_id}`}`, tier, local });
    try {
      const name = targetName(agent.agent_id, agent.peer_id);
      const result = await d.dash.task(target.skill, a.args, { peer: local ? 'local' : agent.peer_id, ...(name ? { agent: name } : {}), timeoutMs: DIRECT_TIMEOUT_MS });
      return done(tier, result);
    } catch (e) {
      const err = e as Error & { code?: string };
      // The skill itself failed: that is the answer. Only a transport failure falls back to the queue.
      if (err.code === 'task_failed' || local) return failed(tier, err.message);
    }
  }

  // Tier 3: the registry's task queue; the result arrives on the event stream.
  try {
    const { task_id } = await d.client.submitTask({
      skill: target.skill,
      target_agent_id: target.kind === 'agent' ? target.agent : '',
      source_agent_id: d.selfPeer,
      payload: a.args ?? {},
      idempotency_key: id,
    });
    store().upsertDispatch({ id, label: `${label} (task ${task_id})`, tier: 'task_queue' });
    const t = await d.feed.waitForTask(task_id, QUEUE_TIMEOUT_MS);
    if (t.state === 'completed') done('task_queue', t.result);
    else failed('task_queue', t.error || 'failed');
  } catch (e) {
    failed('task_queue', (e as Error).message);
  }
}
