/**
 * Actions taken while offline are stored in IndexedDB and replayed in order when the network
 * returns. Each one either goes through or ends as a visible error notice: never dropped silently.
 */
import { idb } from './idb.ts';
import { useStore } from '../state/store.ts';
import type { Action } from '../state/actions.ts';

interface Entry {
  id?: number;
  action: Action;
  label: string;
  at: number;
}

export function describeAction(a: Action): string {
  if (a.type === 'prompt') return `message to ${a.agent}: “${a.text.length > 40 ? a.text.slice(0, 40) + '…' : a.text}”`;
  if (a.type === 'dispatch') return `task ${a.target.skill}${a.target.kind === 'agent' ? ` for ${a.target.agent}` : ''}`;
  return a.type;
}

async function refresh(): Promise<Entry[]> {
  const all = await idb.all<Entry>();
  useStore.getState().setNet({ outbox: all.map((e) => ({ id: e.id!, label: e.label, at: e.at })) });
  return all;
}

export async function enqueue(action: Action): Promise<void> {
  const at = Date.now();
  const queued: Action = action.type === 'prompt' || action.type === 'dispatch' ? { ...action, queuedAt: action.queuedAt ?? at } : action;
  await idb.push({ action: queued, label: describeAction(action), at } satisfies Entry);
  await refresh(); // the outbox banner shows it until it is sent
}

let flushing = false;
/** Replays queued actions in order with `run`; failures become notices. */
export async function flush(run: (a: Action) => Promise<void>): Promise<void> {
  if (flushing) return;
  flushing = true;
  try {
    for (const e of await refresh()) {
      try {
        await run(e.action);
      } catch (err) {
        useStore.getState().notify('error', `Queued ${e.label} could not be sent: ${(err as Error).message}`);
      }
      await idb.remove(e.id!);
      await refresh();
    }
  } finally {
    flushing = false;
  }
}

export const loadOutbox = refresh;
