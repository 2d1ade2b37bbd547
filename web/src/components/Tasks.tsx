import { useMemo, useState, type FormEvent } from 'react';
import { useStore } from '../state/store.ts';
import type { DispatchTarget } from '../state/actions.ts';

const TIER_LABEL: Record<string, string> = { direct: 'direct DataChannel', relay: 'TURN relay', task_queue: 'registry task queue' };

/** Dispatch a task to a skill or an agent; see its state, result and the tier that carried it. */
export function Tasks() {
  const agents = useStore((s) => s.registry.agents);
  const tasks = useStore((s) => s.registry.tasks);
  const dispatches = useStore((s) => s.dispatches);
  const dispatch = useStore((s) => s.dispatch);
  const skills = useMemo(() => [...new Set(agents.flatMap((a) => a.skills))].sort(), [agents]);
  const [mode, setMode] = useState<'skill' | 'agent'>('skill');
  const [skill, setSkill] = useState('');
  const [agent, setAgent] = useState('');
  const [args, setArgs] = useState('{"text": "hello"}');
  const [error, setError] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = args.trim() ? JSON.parse(args) : {};
    } catch {
      setError('Arguments must be JSON, for example {"text": "hi"}');
      return;
    }
    if (!skill.trim()) {
      setError('Name a skill');
      return;
    }
    if (mode === 'agent' && !agent) {
      setError('Choose an agent');
      return;
    }
    setError('');
    const target: DispatchTarget = mode === 'skill' ? { kind: 'skill', skill: skill.trim() } : { kind: 'agent', agent, skill: skill.trim() };
    void dispatch(target, parsed);
  };

  return (
    <section className="card" aria-labelledby="tasks-title" id="tasks">
      <div className="card-head">
        <h2 id="tasks-title">Tasks</h2>
      </div>
      <form className="task-form" onSubmit={submit}>
        <fieldset className="seg">
          <legend className="sr-only">Send to</legend>
          <label>
            <input type="radio" name="mode" checked={mode === 'skill'} onChange={() => setMode('skill')} /> best agent for a skill
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'agent'} onChange={() => setMode('agent')} /> a chosen agent
          </label>
        </fieldset>
        {mode === 'agent' && (
          <label>
            Agent
            <select value={agent} onChange={(e) => setAgent(e.target.value)} data-testid="task-agent">
              <option value="">Choose…</option>
              {agents.map((a) => (
                <option key={`${a.agent_id}@${a.peer_id}`} value={a.agent_id}>
                  {a.agent_id} on {a.peer_id}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Skill
          <input value={skill} onChange={(e) => setSkill(e.target.value)} list="skill-names" placeholder="echo" data-testid="task-skill" autoComplete="off" />
          <datalist id="skill-names">
            {skills.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Arguments (JSON)
          <textarea value={args} onChange={(e) => setArgs(e.target.value)} rows={2} spellCheck={false} data-testid="task-args" />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Dispatch
        </button>
      </form>

      {dispatches.length > 0 && <h3>Sent from this browser</h3>}
      <ul className="task-list">
        {dispatches.map((d) => (
          <li key={d.id} className="task" data-testid="dispatch" data-state={d.state} data-tier={d.tier ?? ''}>
            <div className="task-top">
              <span className={`chip state-${d.state}`}>{d.state}</span>
              <span className="task-label">{d.label}</span>
              {d.tier && <span className={`chip tier tier-${d.tier}`}>{d.local ? 'in this browser' : `via ${TIER_LABEL[d.tier] ?? d.tier}`}</span>}
            </div>
            {d.result !== undefined && (
              <pre className="result" data-testid="dispatch-result">
                {d.result}
              </pre>
            )}
            {d.error && <p className="error">{d.error}</p>}
          </li>
        ))}
      </ul>

      <h3>Registry task queue</h3>
      {tasks.length === 0 && <p className="muted empty">The HTTP task queue is empty (tasks appear here when the direct path is not used).</p>}
      <ul className="task-list">
        {tasks.slice(0, 30).map((t) => (
          <li key={t.id} className="task" data-testid="queue-task">
            <div className="task-top">
              <span className={`chip state-${t.state}`}>{t.state}</span>
              <span className="task-label">
                <span className="mono">{t.id}</span> {t.skill || t.target_agent_id}
              </span>
              {t.assigned_agent_id && <span className="muted">→ {t.assigned_agent_id}</span>}
            </div>
            {t.result && <pre className="result">{t.result}</pre>}
            {t.error && <p className="error">{t.error}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}
