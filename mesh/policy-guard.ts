import { z } from 'zod';
import { mayCall, type AclDecision } from './identity/acl.ts';
import { MeshPayloads, type MeshMessage, type SkillPolicy, type Task } from './protocol/index.ts';

/**
 * Policy enforced where the skill runs (docs/trust.md): the one check a peer — sidecar or tab —
 * makes before running anything for someone else, whichever way the request came: a
 * `task_request`/`agent_prompt` over a DataChannel (requester = the peer its link proved), a task
 * claimed from the registry's queue (requester = the task's submitter as the registry
 * authenticated it), and the built-in `delegate` (which would run the skill it names as this peer,
 * so the requester must be allowed that skill too).
 */
export interface Requester {
  peer_id: string;
  role: string;
}

const DelegateArgs = z.looseObject({ skill: z.string().min(1), args: z.unknown().optional() });
/** `delegate` of `delegate` of …: deeper than this is refused rather than unwrapped. */
const MAX_DELEGATE_DEPTH = 8;

/**
 * The skills a request makes this peer run: a `task_request`'s skill (and, for `delegate`, the
 * skill it delegates, unwrapped), `agent_prompt` for a prompt; none for other types.
 * Undefined when the request cannot be read (it is then refused).
 */
export function requestedSkills(msg: MeshMessage): string[] | undefined {
  if (msg.type === 'agent_prompt') return ['agent_prompt'];
  if (msg.type !== 'task_request') return [];
  const req = MeshPayloads.task_request.safeParse(msg.payload);
  if (!req.success) return undefined;
  const skills = [req.data.skill];
  let args = req.data.args;
  while (skills.at(-1) === 'delegate') {
    const inner = DelegateArgs.safeParse(args);
    if (!inner.success) break; // delegate itself refuses it: skill is required
    if (skills.length > MAX_DELEGATE_DEPTH) return undefined;
    skills.push(inner.data.skill);
    args = inner.data.args;
  }
  return skills;
}

/** The check itself. No policy held (none loaded yet) allows, as the registry's default does. */
export function checkRequest(policy: SkillPolicy | undefined, requester: Requester | undefined, msg: MeshMessage): AclDecision {
  const skills = requestedSkills(msg);
  if (!skills) return { allowed: false, reason: `${msg.type} could not be read (or delegates more than ${MAX_DELEGATE_DEPTH} levels deep)` };
  if (!policy || skills.length === 0) return { allowed: true, reason: policy ? 'nothing to run' : 'no skill policy' };
  if (!requester) return { allowed: false, reason: 'the requester is unknown (it has not proven its identity)' };
  for (const skill of skills) {
    const d = mayCall(policy, { caller_peer_id: requester.peer_id, caller_role: requester.role, skill });
    if (!d.allowed) return d;
  }
  return { allowed: true, reason: `${requester.peer_id} may call ${skills.join(' → ')}` };
}

/** The request a queued task makes (what RegistryPresence runs), and who asked for it. */
export function queuedRequest(task: Task, skill: string): { msg: MeshMessage; requester: Requester | undefined } {
  return {
    msg: { type: 'task_request', payload: { skill, args: task.payload } },
    requester: task.submitter_peer_id ? { peer_id: task.submitter_peer_id, role: task.submitter_role ?? 'agent' } : undefined,
  };
}
