/**
 * Back-pressure between the tab's AgentHub and its worker agents (credit on the postMessage port)
 * and the SDK's maxConcurrent, over Node's real MessageChannel and a real Worker thread.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { nodePeer, waitFor } from '../test-support/node-peer.ts';
import { AgentHub } from '../agent-hub.ts';
import { silentLogger } from '../types.ts';
import { attachPort, portTransport, type PortLike } from './message-port.ts';
import { connect, type AgentOptions } from './client.ts';

// A hub needs a mesh only for its peer id here: every task is local (runTask), nothing dials.
const peer = nodePeer('ws://127.0.0.1:9', 'flow-peer');
const cleanup: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanup) await fn();
  peer.stop();
});

function hubWith(maxQueuedLines: number): AgentHub {
  const hub = new AgentHub({ mesh: peer.mesh, maxQueuedLines, logger: silentLogger });
  cleanup.push(() => hub.close());
  return hub;
}

/** A MessageChannel whose ports are closed after the tests. */
function channel(): MessageChannel {
  const c = new MessageChannel();
  cleanup.push(
    () => c.port1.close(),
    () => c.port2.close(),
  );
  return c;
}

/** A worker agent in this thread: the SDK over portTransport on the other end of a MessageChannel. */
async function localAgent(hub: AgentHub, window: number, opts: AgentOptions) {
  const { port1, port2 } = channel();
  const tab = attachPort(hub, port1 as unknown as PortLike, undefined, { maxInFlightLines: window });
  const transport = portTransport(port2 as unknown as PortLike & { close(): void });
  const client = await connect(transport, opts);
  await waitFor(() => tab.flow().credit && tab.flow().lines === 0, 'registration credited');
  return { tab, transport, client };
}

const overloaded = (r: PromiseSettledResult<unknown>) => r.status === 'rejected' && /overloaded/.test((r.reason as Error).message);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The worker thread: an agent with a skill `work` that records its args in arrival order. On
 * `block` it stops its thread (Atomics.wait on `gate`) like a worker stuck in a long computation:
 * it reads nothing and returns no credit until the test opens the gate.
 */
const WORKER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
const { register } = await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))});
register();
const { portTransport } = await import(${JSON.stringify(new URL('./message-port.ts', import.meta.url).href)});
const { connect } = await import(${JSON.stringify(new URL('./client.ts', import.meta.url).href)});
const seen = [];
const client = await connect(portTransport(workerData.port), { name: 'busy', skills: { work: (a) => (seen.push(a.i), a.i) } });
client.on('error', (e) => parentPort.postMessage({ error: e }));
parentPort.on('message', (m) => {
  if (m === 'block') {
    parentPort.postMessage('blocked');
    Atomics.wait(new Int32Array(workerData.gate), 0, 0);
  } else if (m === 'seen') parentPort.postMessage({ seen });
});
parentPort.postMessage('ready');
`;

test('a blocked worker thread: send reports full at the window, the hub queues to its bound, then overloaded + queue_overflow; nothing is lost unreported', async () => {
  const WINDOW = 16;
  const QUEUE = 10;
  const SENT = 60;
  const hub = hubWith(QUEUE);
  const { port1, port2 } = new MessageChannel();
  const tab = attachPort(hub, port1 as unknown as PortLike, undefined, { maxInFlightLines: WINDOW });
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`), {
    workerData: { port: port2, gate },
    transferList: [port2 as unknown as MessagePort],
  });
  cleanup.push(
    () => worker.terminate(),
    () => port1.close(),
  );
  const fromWorker: unknown[] = [];
  worker.on('message', (m) => fromWorker.push(m));
  await waitFor(() => fromWorker.includes('ready'), 'worker agent registered');
  await waitFor(() => tab.flow().credit && tab.flow().lines === 0, 'registration credited');

  worker.postMessage('block');
  await waitFor(() => fromWorker.includes('blocked'), 'worker thread blocked');
  const results = Promise.allSettled(Array.from({ length: SENT }, (_, i) => hub.runTask('work', { i }, { timeoutMs: 10_000 })));
  // Without flow control all 60 lines would be posted into the blocked thread's queue.
  assert.equal(tab.flow().lines, WINDOW, 'only the window is posted');
  await sleep(200);
  assert.equal(tab.flow().lines, WINDOW, 'a blocked worker returns no credit');

  Atomics.store(new Int32Array(gate), 0, 1);
  Atomics.notify(new Int32Array(gate), 0);
  const settled = await results;
  const delivered = settled.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<unknown>).value);
  const dropped = settled.filter(overloaded).length;
  assert.equal(delivered.length + dropped, SENT, 'every task answered or reported overloaded');
  assert.equal(dropped, SENT - WINDOW - QUEUE);
  // Credit resumed the flow: the window and then the whole queue, in order.
  assert.deepEqual(
    delivered,
    Array.from({ length: WINDOW + QUEUE }, (_, i) => i),
  );
  worker.postMessage('seen');
  await waitFor(() => fromWorker.some((m) => (m as { seen?: unknown }).seen), 'worker report');
  const seen = (fromWorker.find((m) => (m as { seen?: unknown }).seen) as { seen: number[] }).seen;
  assert.deepEqual(seen, delivered);
  const overflow = fromWorker.find((m) => (m as { error?: { code: string } }).error?.code === 'queue_overflow') as { error: { message: string } } | undefined;
  assert.ok(overflow, 'the agent is told it lost messages');
  assert.match(overflow.error.message, new RegExp(`^${SENT - WINDOW - QUEUE} message`));
  await waitFor(() => tab.flow().lines === 0 && tab.flow().bytes === 0, 'all credit back');
});

test('maxConcurrent: a slow async skill runs at most maxConcurrent at once; the rest are answered overloaded at once, not queued', async () => {
  const MAX = 4;
  const SENT = 50;
  const hub = hubWith(100);
  let running = 0;
  let peak = 0;
  const held: (() => void)[] = [];
  await localAgent(hub, 8, {
    name: 'slow',
    maxConcurrent: MAX,
    skills: {
      work: async (a: { i: number }) => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((r) => held.push(r));
        running--;
        return a.i;
      },
    },
  });
  const results = Promise.allSettled(Array.from({ length: SENT }, (_, i) => hub.runTask('work', { i }, { timeoutMs: 10_000 })));
  await waitFor(() => held.length === MAX, 'runs started');
  await sleep(200);
  assert.equal(held.length, MAX, 'no more runs start while maxConcurrent are running');
  held.splice(0).forEach((r) => r());
  const settled = await results;
  assert.equal(peak, MAX);
  assert.equal(settled.filter((r) => r.status === 'fulfilled').length, MAX);
  assert.equal(settled.filter(overloaded).length, SENT - MAX, 'every other request was answered overloaded');
  // once runs end, requests are taken again
  const again = hub.runTask('work', { i: 99 }, { timeoutMs: 5_000 });
  await waitFor(() => held.length === 1, 'a new run');
  held.pop()!();
  assert.equal(await again, 99);
});

test('a worker that never says hello (raw lines, no credit) gets every line as before', async () => {
  const hub = hubWith(1000);
  const { port1, port2 } = channel();
  const old = attachPort(hub, port1 as unknown as PortLike, undefined, { maxInFlightLines: 4 });
  const got: unknown[] = [];
  port2.on('message', (m) => got.push(m));
  port2.postMessage({ type: 'register_agent', payload: { name: 'old', skills: ['work'] } });
  await waitFor(() => got.length === 1, 'registered');
  void Promise.allSettled(Array.from({ length: 20 }, (_, i) => hub.runTask('work', { i }, { timeoutMs: 200 })));
  assert.deepEqual(old.flow(), { credit: false, lines: 21, bytes: 0 }, 'no window without the hello');
  await waitFor(() => got.length === 21, 'all lines arrive');
});

test('the byte window: big lines fill it before the line window', async () => {
  const hub = hubWith(100);
  const { port1, port2 } = channel();
  const tab = attachPort(hub, port1 as unknown as PortLike, undefined, { maxInFlightBytes: 250_000 });
  // a worker that said hello, registered, and then returns no credit (busy)
  port2.postMessage({ credit: 0 });
  port2.postMessage({ type: 'register_agent', payload: { name: 'bytes', skills: ['work'] } });
  await waitFor(() => tab.flow().credit && hub.agents().some((a) => a.name === 'bytes'), 'registered');
  port2.postMessage({ credit: tab.flow().lines }); // for the `registered` line
  await waitFor(() => tab.flow().lines === 0, 'registration credited');
  const big = 'x'.repeat(100_000);
  void Promise.allSettled(Array.from({ length: 10 }, (_, i) => hub.runTask('work', { i, big }, { timeoutMs: 500 })));
  assert.equal(tab.flow().lines, 3, 'the third 100 kB line fills a 250 kB window');
  assert.ok(tab.flow().bytes > 250_000);
  port2.postMessage({ credit: 3 });
  await waitFor(() => tab.flow().lines === 3 && tab.flow().bytes > 250_000, 'credit lets the next three through');
});
