/**
 * The dashboard's "Dispatch": the shared `delegate` (mesh/delegate.ts) picks the tier — this
 * browser's own agents, a DataChannel (direct or over a TURN relay), or the registry's task queue
 * — and each step shows in the task list with the tier that carried it (direct, relay, task_queue: docs/sidecar.md).
 */
import { delegate, type DelegateDeps } from '../../../mesh/delegate.ts';
import { useStore } from '../state/store.ts';
import type { Action } from '../state/actions.ts';
import type { RegistryFeed } from './registry-feed.ts';
import type { Task } from '../../../mesh/protocol/index.ts';

/** Long enough for an agent that thinks (an LLM); the queue keeps the task as long. */
const TIMEOUT_MS = 5 * 60_000;

const show = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v, null, 2) ?? 'null'));

/** A finished registry task settles the dispatch it carried (the one that waited for it may be gone: a reload). */
export function settleDispatch(t: Task): void {
  if (t.state !== 'completed' && t.state !== 'failed') return;
  const d = useStore.getState().dispatches.find((x) => x.taskId === t.id && x.state === 'running');
  if (!d) return;
  useStore
    .getState()
    .upsertDispatch(
      t.state === 'completed' ? { id: d.id, state: 'completed', result: show(t.result) } : { id: d.id, state: 'failed', error: t.error ?? 'the task failed' },
    );
}

export async function dispatchTask(d: DelegateDeps & { feed: RegistryFeed }, a: Extract<Action, { type: 'dispatch' }>): Promise<void> {
  const store = useStore.getState;
  const { target } = a;
  const id = crypto.randomUUID().slice(0, 12);
  const label = target.kind === 'skill' ? `${target.skill} (best agent)` : `${target.skill} on ${target.agent}`;
  store().upsertDispatch({ id, label, state: 'running', at: Date.now() });
  try {
    const r = await delegate(d, {
      skill: target.skill,
      args: a.args,
      ...(target.kind === 'agent' && { targetAgent: target.agent }),
      timeoutMs: TIMEOUT_MS,
      idempotencyKey: id,
      waitForTask: (taskId, ms) => d.feed.waitForTask(taskId, ms),
      onRoute: (r) =>
        store().upsertDispatch({
          id,
          label: r.task_id ? `${label} (task ${r.task_id})` : `${label} → ${r.agent_id ?? r.peer_id}${r.tier === 'local' ? '' : ` on ${r.peer_id}`}`,
          tier: r.tier === 'local' ? 'direct' : r.tier,
          local: r.tier === 'local',
          ...(r.task_id && { taskId: r.task_id }),
        }),
    });
    store().upsertDispatch({ id, state: 'completed', result: show(r.result) });
  } catch (e) {
    store().upsertDispatch({ id, state: 'failed', error: (e as Error).message });
  }
}
