import type { AgentConnection, AgentHub, AttachedAgent, IpcLine } from '../agent-hub.ts';
import type { AgentTransport } from './transport.ts';

/** The part of MessagePort / Worker / DedicatedWorkerGlobalScope the IPC needs. */
export interface PortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', fn: (ev: MessageEvent) => void): void;
  removeEventListener?(type: 'message', fn: (ev: MessageEvent) => void): void;
}

/** Worker side: the agent's transport over `self` (a dedicated worker) or a MessagePort. */
export function portTransport(port: PortLike & { close?: () => void }): AgentTransport {
  const closeFns: (() => void)[] = [];
  return {
    send: (line) => port.postMessage(line),
    onLine: (cb) => port.addEventListener('message', (ev) => cb(ev.data)),
    onClose: (cb) => closeFns.push(cb),
    close: () => {
      port.close?.();
      for (const fn of closeFns) fn();
    },
  };
}

/**
 * Tab side: attaches a worker (or port) to the hub. postMessage has no back-pressure signal, so
 * `send` always accepts; the worker's own event queue is the buffer. Call `detach()` when the
 * worker is terminated.
 */
export function attachPort(hub: AgentHub, port: PortLike, terminate?: () => void): { agent: AttachedAgent; detach: () => void } {
  const conn: AgentConnection = {
    send: (line: IpcLine) => {
      port.postMessage(line);
      return true;
    },
    close: () => terminate?.(),
  };
  const agent = hub.attach(conn);
  const onMessage = (ev: MessageEvent) => agent.receive(ev.data);
  port.addEventListener('message', onMessage);
  return {
    agent,
    detach: () => {
      port.removeEventListener?.('message', onMessage);
      agent.closed();
    },
  };
}
