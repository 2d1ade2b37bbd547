import { mayCall } from '../../mesh/identity/acl.ts';
import { catalog } from '../../mesh/llm/catalog.ts';
import { PROMPT_SKILL, type AgentRecord, type Task } from '../../mesh/protocol/index.ts';
import type { Principal } from '../auth/tokens.ts';
import { ApiError } from '../http/errors.ts';
import { now, type RegistryState } from '../state.ts';

/** The skills a principal may call, as an MCP client or A2A caller sees them: named agents' skills the policy allows. */
export async function skillsFor(reg: RegistryState, p: Principal) {
  const agents = (await reg.agents.list(now())).map((a) => a.record);
  return catalog(agents, p.peerId, { policy: () => reg.skillPolicy, role: () => p.role }, {});
}

export interface SkillRun {
  skill: string;
  args: unknown;
  /** The agent record to run it on; default: the first active named agent with the skill. */
  agentId?: string | undefined;
  timeoutMs: number;
  onChunk?: (text: string) => void;
  /** Told the queue task's id as soon as it exists. */
  onQueued?: (taskId: string) => void;
  /** Aborting cancels the task: it fails in the queue and the agent running it is told to stop. */
  signal?: AbortSignal;
}

export interface SkillRunResult {
  result: unknown;
  tier: 'task_queue';
  agent_id: string;
  task_id: string;
}

/** The refusal an A2A or MCP caller gets when the skill policy forbids the skill (the same rule the peers enforce). */
export function checkPolicy(reg: RegistryState, p: Principal, skill: string): void {
  const d = mayCall(reg.skillPolicy, { caller_peer_id: p.peerId, caller_role: p.role, skill });
  if (!d.allowed) throw new ApiError(403, 'skill_forbidden', `skill "${skill}" is not allowed for ${p.peerId}: ${d.reason}`);
}

async function pickAgent(reg: RegistryState, p: Principal, run: SkillRun): Promise<AgentRecord> {
  if (run.agentId) {
    const a = await reg.agents.get(run.agentId, now());
    if (!a) throw new ApiError(404, 'not_found', `agent ${run.agentId} is not registered`);
    if (a.record.health !== 'active') throw new ApiError(409, 'agent_unavailable', `agent ${run.agentId} is ${a.record.health}; try again when it is back`);
    if (run.skill !== PROMPT_SKILL && !a.record.capabilities.skills.includes(run.skill))
      throw new ApiError(404, 'no_skill', `agent ${run.agentId} has no skill "${run.skill}"`);
    return a.record;
  }
  const found = (await skillsFor(reg, p)).find((s) => s.skill === run.skill)?.agents[0];
  const a = found && (await reg.agents.get(found.agent_id, now()));
  if (!a) throw new ApiError(404, 'no_skill', `no active agent has skill "${run.skill}"`);
  return a.record;
}

/**
 * Runs a skill on a mesh agent for a caller outside the mesh. The registry is no mesh peer, so the
 * run is a queued task (the third tier of delegate) for that agent: its peer claims it at once (the
 * event stream announces it), streams pieces back (POST /api/hub/tasks/:id/chunks) and posts the
 * result. Cancelling fails the task, which tells the peer to stop the agent (a `cancel` to it).
 */
export async function runSkill(reg: RegistryState, p: Principal, run: SkillRun): Promise<SkillRunResult> {
  checkPolicy(reg, p, run.skill);
  const agent = await pickAgent(reg, p, run);
  if (run.signal?.aborted) throw new ApiError(409, 'cancelled', 'cancelled before it started');
  const { stored } = await reg.tasks.submit(
    {
      skill: run.skill,
      target_agent_id: agent.agent_id,
      source_agent_id: p.peerId,
      payload: run.args ?? {},
      ttl: Math.max(1, Math.ceil(run.timeoutMs / 1000)),
    },
    p.peerId,
    now(),
    p.role,
  );
  const id = stored.task.id;
  run.onQueued?.(id);
  const finished = new Promise<Task>((resolve, reject) => {
    const offChunk = reg.taskChunks.on('chunk', (taskId, text) => taskId === id && run.onChunk?.(text));
    const offBus = reg.bus.subscribe((e) => {
      if (e.type === 'tasks' && e.data.id === id && (e.data.state === 'completed' || e.data.state === 'failed')) end(() => resolve(e.data));
    });
    const stop = (why: string) => () =>
      void reg.tasks.update(id, ['pending', 'assigned'], 'failed', undefined, why, now()).then(
        (t) => {
          if (t) reg.bus.publish({ type: 'tasks', data: t.task });
          end(() => reject(new ApiError(409, 'cancelled', why)));
        },
        (e: unknown) => end(() => reject(e)),
      );
    const onAbort = stop('cancelled by the requester');
    const timer = setTimeout(stop(`no answer within ${run.timeoutMs} ms`), run.timeoutMs);
    run.signal?.addEventListener('abort', onAbort, { once: true });
    let ended = false;
    function end(settle: () => void) {
      if (ended) return;
      ended = true;
      offChunk();
      offBus();
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      settle();
    }
  });
  reg.bus.publish({ type: 'tasks', data: stored.task });
  const task = await finished;
  if (task.state === 'failed') throw new ApiError(502, 'skill_failed', `${run.skill} on ${agent.agent_id} failed: ${task.error}`);
  return { result: task.result, tier: 'task_queue', agent_id: agent.agent_id, task_id: id };
}
