/// <reference lib="webworker" />
/**
 * The fault tests' agent inside a tab: the agent SDK (AgentClient) in a Web Worker on the port the
 * tab's AgentHub gave it — the way the PWA runs its worker agents. The test tells it (through the
 * page) to send acknowledged messages, or to block its thread for a while (a slow agent); it
 * reports acks, errors and the probe messages it receives (without their bodies).
 */
import { AgentClient, type AgentError, portTransport } from '../../../mesh/agent/index.ts';
import type { MeshMessage } from '../../../mesh/protocol/index.ts';
import type { PageToWorker, WorkerToPage } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;
const post = (m: WorkerToPage) => self.postMessage(m);
let client: AgentClient | undefined;

self.onmessage = async (ev: MessageEvent<PageToWorker>) => {
  const m = ev.data;
  if (m.ctl === 'init') {
    const port = ev.ports[0]!;
    port.start();
    client = new AgentClient(portTransport(port), { name: m.name });
    client.on('message', (msg, from) => {
      if (msg.type === m.probeType) post({ ev: 'message', from, type: msg.type, request_id: msg.request_id });
    });
    client.on('error', (e) => post({ ev: 'error', code: e.code, message: e.message, request_id: typeof e.request_id === 'string' ? e.request_id : undefined }));
    await client.register();
    post({ ev: 'ready' });
  } else if (m.ctl === 'send') {
    const body = m.fill ? m.fill.char.repeat(m.fill.bytes) : m.body;
    const msg: MeshMessage = { type: m.type, request_id: m.id, ...(m.targetAgent && { target_agent: m.targetAgent }), payload: { body } };
    client!.sendAcked(m.to, msg).then(
      () => post({ ev: 'ack', id: m.id }),
      (e: AgentError) => post({ ev: 'error', code: e.code, message: e.message, request_id: m.id }),
    );
  } else if (m.ctl === 'stall') {
    // A busy agent: its thread does not come back to the event loop, so it reads nothing.
    const end = performance.now() + m.ms;
    while (performance.now() < end) {
      /* spin */
    }
    post({ ev: 'stalled' });
  }
};
