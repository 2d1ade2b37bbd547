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

/** A worker agent in this thread: the SDK over portTransport on the other end of a MessageChannel. */
async function localAgent(hub: AgentHub, window: number, opts: AgentOptions) {
  const { port1, port2 } = new MessageChannel();
  cleanup.push(() => port1.close(), () => port2.close());
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
  cleanup.push(() => worker.terminate(), () => port1.close());
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
  assert.deepEqual(delivered, Array.from({ length: WINDOW + QUEUE }, (_, i) => i));
  worker.postMessage('seen');
  await waitFor(() => fromWorker.some((m) => (m as { seen?: unknown }).seen), 'worker report');
  const seen = (fromWorker.find((m) => (m as { seen?: unknown }).seen) as { seen: number[] }).seen;
  assert.deepEqual(seen, delivered);
  const overflow = fromWorker.find((m) => (m as { error?: { code: string } }).error?.code === 'queue_overflow') as { error: { message: string } } | undefined;
  assert.ok(overflow, 'the agent is told it lost messages');
  assert.match(overflow.error.message, new RegExp(`^${SENT - WINDOW - QUEUE} message`));
  await waitFor(() => tab.flow().lines === 0 && tab.flow().bytes === 0, 'all credit back');
});

test('while the transport is paused the worker withholds credit; resume returns it and the queued lines follow in order', async () => {
  const hub = hubWith(100);
  const seen: number[] = [];
  const { tab, transport } = await localAgent(hub, 8, { name: 'pausable', skills: { work: (a: { i: number }) => (seen.push(a.i), a.i) } });
  transport.pause!();
  const results = Promise.all(Array.from({ length: 40 }, (_, i) => hub.runTask('work', { i }, { timeoutMs: 5_000 })));
  await waitFor(() => seen.length === 8, 'the lines in flight are handled');
  await sleep(100);
  assert.equal(seen.length, 8, 'no credit, no more lines');
  assert.equal(tab.flow().lines, 8);
  transport.resume!();
  assert.deepEqual(await results, Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i));
  await waitFor(() => tab.flow().lines === 0, 'all credit back');
});

test('maxConcurrent: a slow async skill pauses the transport; at most maxConcurrent + window runs start until runs finish', async () => {
  const MAX = 4;
  const WINDOW = 8;
  const SENT = 50;
  const hub = hubWith(100);
  let running = 0;
  let peak = 0;
  let started = 0;
  const held: (() => void)[] = [];
  await localAgent(hub, WINDOW, {
    name: 'slow',
    maxConcurrent: MAX,
    skills: {
      work: async (a: { i: number }) => {
        started++;
        peak = Math.max(peak, ++running);
        await new Promise<void>((r) => held.push(r));
        running--;
        return a.i;
      },
    },
  });
  const results = Promise.all(Array.from({ length: SENT }, (_, i) => hub.runTask('work', { i }, { timeoutMs: 10_000 })));
  await waitFor(() => started >= MAX, 'runs started');
  await sleep(200);
  assert.ok(started <= MAX + WINDOW, `${started} runs started while ${MAX} were busy`);
  // Finish runs a few at a time: the rest flows in as runs end, none is dropped.
  const deadline = Date.now() + 10_000;
  while (started < SENT || held.length) {
    assert.ok(Date.now() < deadline, `stalled after ${started} runs`);
    held.splice(0, 2).forEach((r) => r());
    await sleep(5);
  }
  assert.deepEqual(await results, Array.from({ length: SENT }, (_, i) => i));
  assert.ok(peak <= MAX + WINDOW, `peak ${peak}`);
});

test('a worker that never says hello (raw lines, no credit) gets every line as before', async () => {
  const hub = hubWith(1000);
  const { port1, port2 } = new MessageChannel();
  cleanup.push(() => port1.close(), () => port2.close());
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
  const { port1, port2 } = new MessageChannel();
  cleanup.push(() => port1.close(), () => port2.close());
  const tab = attachPort(hub, port1 as unknown as PortLike, undefined, { maxInFlightBytes: 250_000 });
  const transport = portTransport(port2 as unknown as PortLike & { close(): void });
  await connect(transport, { name: 'bytes', skills: { work: (a: { i: number }) => a.i } });
  await waitFor(() => tab.flow().credit && tab.flow().lines === 0, 'registration credited');
  transport.pause!();
  const big = 'x'.repeat(100_000);
  const results = Promise.all(Array.from({ length: 10 }, (_, i) => hub.runTask('work', { i, big }, { timeoutMs: 5_000 })));
  assert.equal(tab.flow().lines, 3, 'the third 100 kB line fills a 250 kB window');
  assert.ok(tab.flow().bytes > 250_000);
  transport.resume!();
  assert.deepEqual(await results, Array.from({ length: 10 }, (_, i) => i));
  await waitFor(() => tab.flow().lines === 0 && tab.flow().bytes === 0, 'all credit back');
});
