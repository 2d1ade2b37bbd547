/** The agent SDK: one API for sidecar agents (Unix socket) and tab agents (Web Workers). */
export { AgentClient, AgentError, connect } from './client.ts';
export type {
  SendAck,
  AgentOptions,
  AgentRequestOptions,
  SkillHandler,
  SkillDefinition,
  PromptHandler,
  PromptPiece,
  SkillCall,
  AgentClientEvents,
} from './client.ts';
export type { AgentTransport } from './transport.ts';
export { portTransport, attachPort, type PortLike } from './message-port.ts';
