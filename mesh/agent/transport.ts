import type { IpcLine } from '../agent-hub.ts';

/**
 * How an agent talks to its peer: lines out, lines in. The sidecar's Unix socket
 * (sidecar-node/agent-socket.ts) and a worker's postMessage (./message-port.ts) implement it.
 */
export interface AgentTransport {
  send(line: IpcLine): void;
  /** Inbound lines: parsed objects or raw JSON text; the client validates them. */
  onLine(cb: (line: unknown) => void): void;
  onClose(cb: () => void): void;
  close(): void;
}
