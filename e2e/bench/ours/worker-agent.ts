/**
 * A minimal worker agent speaking the IPC lines (docs/sidecar.md) over postMessage, as the PWA's
 * worker agents do: answers task_requests (echo), and on the bench's command sends task_requests
 * and times the task_responses.
 */
interface WorkerScope {
  postMessage(m: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
}
const scope = self as unknown as WorkerScope;
const waiters = new Map<string, (err?: string) => void>();
let seq = 0;

scope.onmessage = (ev: MessageEvent) => {
  const d = ev.data;
  if (d?.bench_port) {
    (d.bench_port as MessagePort).onmessage = (e) => void command(d.bench_port, e.data);
    return;
  }
  if (d?.type === 'error') {
    // the hub could not deliver (e.g. no open link): fail that request instead of waiting forever
    const rid = d.payload?.request_id as string | undefined;
    if (rid) waiters.get(rid)?.(`${d.payload.code}: ${d.payload.message}`);
    return;
  }
  if (d?.type !== 'message') return;
  const from = d.payload.from_peer as string;
  const msg = d.payload.message as { type: string; request_id?: string; payload?: { args?: unknown } };
  if (msg.type === 'task_request') {
    scope.postMessage({
      type: 'send',
      payload: { target_peer: from, message: { type: 'task_response', request_id: msg.request_id, payload: { result: msg.payload?.args ?? null } } },
    });
  } else if (msg.type === 'task_response' && msg.request_id) {
    waiters.get(msg.request_id)?.();
  }
};

async function command(port: MessagePort, c: { cmd: string; target: string; n: number }) {
  if (c.cmd !== 'ping') return port.postMessage({ error: `unknown command ${c.cmd}` });
  const rtts: number[] = [];
  for (let i = 0; i < c.n; i++) {
    const rid = `w${++seq}`;
    const t = performance.now();
    const err = await new Promise<string | undefined>((r) => {
      const timer = setTimeout(() => r('no task_response within 5 s'), 5000);
      waiters.set(rid, (e) => {
        clearTimeout(timer);
        waiters.delete(rid);
        r(e);
      });
      scope.postMessage({
        type: 'send',
        payload: {
          target_peer: c.target,
          message: { type: 'task_request', request_id: rid, payload: { skill: 'echo', args: 'x'.repeat(16), timeout_ms: 5000 } },
        },
      });
    });
    if (err) return port.postMessage({ error: `round trip ${i + 1}/${c.n} to ${c.target} failed: ${err}` });
    rtts.push(performance.now() - t);
  }
  port.postMessage({ rtts });
}
