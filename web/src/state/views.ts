/** Shapes the dashboard renders. Plain data only: the leader tab mirrors them to the other tabs. */
export type Health = 'active' | 'stale' | 'offline';
export type PathType = 'host' | 'srflx' | 'prflx' | 'relay' | 'http' | 'unknown';
export type Tier = 'direct' | 'relay' | 'task_queue';

export interface AgentView {
  agent_id: string;
  peer_id: string;
  hostname: string;
  health: Health | string;
  skills: string[];
  /** Description and args schema per skill, where the agent announced them (docs/skills.md). */
  specs?: Record<string, { description?: string | undefined; args_schema?: Record<string, unknown> | undefined }>;
  mode?: string;
  last_heartbeat?: number;
  /** The agent stands for an MCP server or an external A2A agent (docs/interop.md). */
  backedBy?: { protocol: 'mcp' | 'a2a'; source: string };
}

export interface TaskView {
  id: string;
  skill: string;
  target_agent_id: string;
  source_agent_id: string;
  assigned_agent_id: string;
  state: string;
  result: string;
  error: string;
  created_at: number;
  updated_at: number;
}

export interface EdgeView {
  from: string;
  to: string;
  path: PathType;
  rtt_ms?: number | undefined;
}
export interface NodeView {
  peer_id: string;
  health: Health | string;
  agents: string[];
  self: boolean;
}

export interface LinkView {
  peer_id: string;
  state: string;
  path: PathType;
  rtt_ms?: number | undefined;
}

/** A tool call of an LLM agent, as the chat shows it (mesh/protocol ToolEvent). */
export interface ToolView {
  skill: string;
  state: 'running' | 'done' | 'failed';
  agent_id?: string | undefined;
  peer_id?: string | undefined;
  tier?: string | undefined;
  ms?: number | undefined;
  args?: string | undefined;
  result?: string | undefined;
  error?: string | undefined;
}

export interface ChatMessage {
  id: string;
  from: 'me' | 'agent' | 'system' | 'tool';
  text: string;
  done: boolean;
  at: number;
  tool?: ToolView | undefined;
}

export interface LocalSkill {
  name: string;
  description: string;
  custom: boolean;
  code?: string;
  timeoutMs?: number;
}
export interface LocalAgentView {
  id: string;
  kind: string;
  status: 'starting' | 'running' | 'stopped' | 'restarting' | 'crashed';
  skills: LocalSkill[];
  lastError?: string | undefined;
  restarts: number;
}

export interface DispatchView {
  id: string;
  label: string;
  state: 'queued' | 'running' | 'completed' | 'failed';
  tier?: Tier | undefined;
  /** Answered by an agent in this browser (no network hop). */
  local?: boolean | undefined;
  /** The registry task carrying it (tier task_queue): its end is this dispatch's end, even after a reload. */
  taskId?: string | undefined;
  result?: string | undefined;
  error?: string | undefined;
  at: number;
}

export interface Notice {
  id: string;
  level: 'info' | 'error';
  text: string;
  at: number;
}
export interface OutboxView {
  id: number;
  label: string;
  at: number;
}
