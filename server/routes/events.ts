import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { REVOKED_SSE_EVENT, agentPeer, announceTask, type RegistryEvent, type RevokedNotice, type Task } from '../../mesh/protocol/index.ts';
import type { AppEnv } from '../http/context.ts';
import { now, type RegistryState } from '../state.ts';
import { requireAuth } from '../http/auth.ts';
import { tooMany } from '../http/errors.ts';

const ADMIN_ONLY = new Set<RegistryEvent['type']>(['pairing', 'audit']);

/**
 * A task event as this (non-admin) peer may see it: the whole task for its submitter and holder;
 * an announcement without payload for a pending task it could claim (aimed at one of its agents,
 * or naming only a skill); nothing otherwise.
 */
function visibleTask(t: Task, peerId: string): RegistryEvent | undefined {
  if (t.submitter_peer_id === peerId || (t.holder_peer_id && t.holder_peer_id === peerId)) return { type: 'tasks', data: t };
  if (t.state === 'pending' && (t.target_agent_id === '' || agentPeer(t.target_agent_id) === peerId)) return { type: 'tasks', data: announceTask(t) };
  return undefined;
}

/**
 * GET /api/events: a text/event-stream; each `data:` line is one RegistryEvent JSON. The first
 * events are snapshots (agents, topology) so a dashboard needs no extra request. Pairing and
 * audit events go to admins only. `?token=` works here because EventSource cannot set headers.
 * A revocation of the caller ends the stream with `event: revoked` (mesh/protocol/revocation.ts);
 * the stream also ends when the caller's token expires (the client reconnects with a fresh one).
 */
export function eventRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  /** Open streams per peer id: each holds a subscription and a queue, so one token cannot open thousands. */
  const open = new Map<string, number>();
  app.get('/api/events', requireAuth(reg, { allowQueryToken: true }), (c) => {
    const { peerId, role, exp } = c.get('principal');
    const isAdmin = role === 'admin';
    const mine = open.get(peerId) ?? 0;
    if (mine >= reg.cfg.maxEventStreamsPerPeer) {
      throw tooMany(`${peerId} already has ${mine} event streams open (MAX_EVENT_STREAMS_PER_PEER); close one first`);
    }
    open.set(peerId, mine + 1);
    const release = () => {
      const n = (open.get(peerId) ?? 1) - 1;
      if (n > 0) open.set(peerId, n);
      else open.delete(peerId);
    };
    return streamSSE(c, async (stream) => {
      const queue: RegistryEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = reg.bus.subscribe((ev) => {
        if (ADMIN_ONLY.has(ev.type) && !isAdmin) return;
        const e = ev.type === 'tasks' && !isAdmin ? visibleTask(ev.data, peerId) : ev;
        if (!e) return;
        if (queue.length > 1000) queue.shift(); // a stalled client loses old events, not memory
        queue.push(e);
        wake?.();
      });
      let closed = false;
      let revoked: RevokedNotice | undefined;
      const stop = () => {
        closed = true;
        unsubscribe();
        wake?.();
      };
      stream.onAbort(stop);
      const forget = reg.sessions.add(peerId, (notice) => {
        revoked = notice;
        stop();
      });
      const expiry = exp === undefined ? undefined : setTimeout(stop, Math.min(2 ** 31 - 1, Math.max(0, exp * 1000 - Date.now())));
      try {
        queue.unshift({ type: 'agents', data: (await reg.agents.list(now())).map((a) => a.record) }, { type: 'topology', data: await reg.topology() });
        while (!closed) {
          while (queue.length && !closed) await stream.writeSSE({ data: JSON.stringify(queue.shift()) });
          if (closed) break;
          // Sleep until an event or 25 s, then a comment line keeps proxies from closing the stream.
          const woke = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 25_000);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          wake = undefined;
          if (!woke && !closed) await stream.write(': keep-alive\n\n');
        }
        if (revoked) await stream.writeSSE({ event: REVOKED_SSE_EVENT, data: JSON.stringify(revoked) });
      } finally {
        clearTimeout(expiry);
        forget();
        unsubscribe();
        release();
      }
    });
  });
  return app;
}
