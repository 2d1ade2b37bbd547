/**
 * The client side of the revocation contract without a network: RegistryClient reads a revoked
 * REST answer and `event: revoked` (and does not retry with a fresh token), SignalingClient stops
 * for good on the 4003 "revoked…" close, and watchRevocation tells its peer once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient, RegistryError } from './registry-client.ts';
import { SignalingClient } from './signaling-client.ts';
import { isRevokedError, watchRevocation } from './revocation.ts';
import type { WebSocketCtor } from './types.ts';

const REVOKED_BODY = JSON.stringify({ error: 'device p1 was revoked by an admin; pair it again to rejoin the mesh', code: 'revoked' });
const TOKEN = JSON.stringify({ token: 'h.eyJleHAiOjQxMDI0NDQ4MDB9.s', peer_id: 'p1', role: 'agent', expires_in: 3600 });

function client(answer: (path: string) => Response): { c: RegistryClient; calls: string[] } {
  const calls: string[] = [];
  const c = new RegistryClient({
    baseUrl: 'http://registry.test',
    apiKey: 'ak_testtesttest',
    fetch: async (url) => {
      const path = new URL(String(url)).pathname;
      calls.push(path);
      return answer(path);
    },
  });
  return { c, calls };
}

test('a revoked REST answer is reported once and not retried with a fresh token', async () => {
  const { c, calls } = client((p) => (p === '/api/token' ? new Response(TOKEN) : new Response(REVOKED_BODY, { status: 401 })));
  const told: string[] = [];
  c.onRevoked((m) => told.push(m));
  const err = await c.listAgents().catch((e: unknown) => e);
  assert.ok(err instanceof RegistryError && isRevokedError(err), String(err));
  assert.match((err as Error).message, /revoked by an admin/);
  assert.deepEqual(calls, ['/api/token', '/api/registry/agents'], 'retried after a revocation');
  assert.deepEqual(told, ['device p1 was revoked by an admin; pair it again to rejoin the mesh']);
});

test('`event: revoked` on the event stream ends it as a revocation', async () => {
  const sse = 'data: {"type":"agents","data":[]}\n\nevent: revoked\ndata: {"code":"revoked","message":"the API key of p1 was deleted"}\n\n';
  const { c } = client((p) => (p === '/api/token' ? new Response(TOKEN) : new Response(sse, { headers: { 'content-type': 'text/event-stream' } })));
  const told: string[] = [];
  c.onRevoked((m) => told.push(m));
  const events: string[] = [];
  await assert.rejects(
    c.events((e) => events.push(e.type)),
    (e: unknown) => isRevokedError(e),
  );
  assert.deepEqual(events, ['agents']);
  assert.deepEqual(told, ['the API key of p1 was deleted']);
});

/** A WebSocket the test drives: it opens, then the registry closes it as the contract says. */
class ClosingSocket {
  static last: ClosingSocket | undefined;
  readyState = 0;
  protocol = 'chatixia-jwt';
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor() {
    ClosingSocket.last = this;
  }
  send() {}
  close() {}
}

test('the /ws revocation (error frame, close 4003 "revoked…") stops signaling for good; watchRevocation tells once', async () => {
  const { c } = client(() => new Response(TOKEN));
  let tokens = 0;
  const signaling = new SignalingClient({
    url: 'ws://registry.test/ws',
    peerId: 'p1',
    WebSocket: ClosingSocket as unknown as WebSocketCtor,
    getToken: async () => {
      tokens++;
      return 'jwt';
    },
  });
  const told: string[] = [];
  watchRevocation({ registry: c, signaling }, (m) => told.push(m));
  const stopped: string[] = [];
  signaling.on('stopped', (why) => stopped.push(why));
  signaling.start();
  await new Promise((r) => setTimeout(r, 20));
  const ws = ClosingSocket.last!;
  ws.readyState = 1;
  ws.onopen?.();
  ws.onmessage?.({ data: JSON.stringify({ type: 'error', peer_id: '', payload: { code: 'revoked', message: 'device p1 was revoked by an admin' } }) });
  ws.readyState = 3;
  ws.onclose?.({ code: 4003, reason: 'revoked by an admin' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(stopped, ['revoked']);
  assert.equal(tokens, 1, 'signaling asked for a new token after the revocation');
  assert.deepEqual(told, ['device p1 was revoked by an admin']);
  // Another channel saying it again is not news.
  await c.listAgents().catch(() => {});
  assert.equal(told.length, 1);
});
