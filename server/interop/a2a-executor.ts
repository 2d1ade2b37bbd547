import { TaskState } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import type { RegistryState } from '../state.ts';
import { runSkill } from './run-skill.ts';
import { callerOf } from './a2a-context.ts';
import { agentMessage, resultPart, skillCall, textPart } from './a2a-message.ts';

/** How long one A2A task may run on its agent. */
const RUN_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs an A2A task as a skill run on the addressed mesh agent (runSkill: a queued task its peer
 * claims at once). Streamed pieces become appends to artifact `stream`; the result is artifact
 * `result` (with the tier and agent in its metadata); CancelTask aborts the run, which reaches the agent.
 */
export class MeshAgentExecutor implements AgentExecutor {
  readonly #running = new Map<string, AbortController>();
  readonly #reg: RegistryState;
  constructor(reg: RegistryState) {
    this.#reg = reg;
  }

  execute = async (ctx: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    const { principal, agentId } = callerOf(ctx.context);
    const { taskId, contextId } = ctx;
    const rec = agentId ? await this.#reg.agents.get(agentId, Date.now() / 1000) : undefined;
    const { skill, args } = skillCall(ctx.userMessage, rec?.record.capabilities.skills);
    const now = () => new Date().toISOString();
    const status = (state: TaskState, text?: string) =>
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: { state, message: text === undefined ? undefined : agentMessage(taskId, contextId, text), timestamp: now() },
          metadata: undefined,
        }),
      );
    bus.publish(
      AgentEvent.task(
        ctx.task ?? {
          id: taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() },
          artifacts: [],
          history: [ctx.userMessage],
          metadata: { skill, ...(agentId && { agent_id: agentId }) },
        },
      ),
    );
    status(TaskState.TASK_STATE_WORKING);
    const abort = new AbortController();
    this.#running.set(taskId, abort);
    let pieces = 0;
    try {
      const r = await runSkill(this.#reg, principal, {
        skill,
        args,
        agentId: agentId || undefined,
        timeoutMs: RUN_TIMEOUT_MS,
        signal: abort.signal,
        onChunk: (text) =>
          bus.publish(
            AgentEvent.artifactUpdate({
              taskId,
              contextId,
              append: pieces++ > 0,
              lastChunk: false,
              metadata: undefined,
              artifact: {
                artifactId: 'stream',
                name: 'stream',
                description: 'the answer as the agent streams it',
                parts: [textPart(text)],
                metadata: undefined,
                extensions: [],
              },
            }),
          ),
      });
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId,
          contextId,
          append: false,
          lastChunk: true,
          metadata: undefined,
          artifact: {
            artifactId: 'result',
            name: 'result',
            description: `result of ${skill}`,
            parts: [resultPart(r.result)],
            metadata: { 'chatixia/tier': r.tier, 'chatixia/agent_id': r.agent_id, 'chatixia/queue_task_id': r.task_id },
            extensions: [],
          },
        }),
      );
      status(TaskState.TASK_STATE_COMPLETED);
    } catch (err) {
      status(abort.signal.aborted ? TaskState.TASK_STATE_CANCELED : TaskState.TASK_STATE_FAILED, (err as Error).message);
    } finally {
      this.#running.delete(taskId);
      bus.finished();
    }
  };

  cancelTask = async (taskId: string): Promise<void> => {
    // The run ends as cancelled; execute() publishes the final status on the task's bus.
    this.#running.get(taskId)?.abort(new Error('cancelled by the A2A client'));
  };
}
