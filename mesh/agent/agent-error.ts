/** What the agent SDK throws and reports: a code, and what the failure names. */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** What the failure names: `ack_id`, `request_id`, `target_peer` (acknowledged sends). */
    readonly details: { ack_id?: string; request_id?: string; target_peer?: string } = {},
  ) {
    super(message);
    this.name = 'AgentError';
  }
}
