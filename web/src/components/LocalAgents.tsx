import { useState, type FormEvent } from 'react';
import { useStore } from '../state/store.ts';
import type { LocalAgentView } from '../state/views.ts';

const SAMPLE = '(args) => {\n  // runs inside this agent\'s worker; return a value or a promise\n  return { sum: args.a + args.b };\n}';

/** Agents running in this browser's Web Workers: start, stop, see skills, add a JavaScript skill. */
export function LocalAgents() {
  const agents = useStore((s) => s.localAgents);
  const startAgent = useStore((s) => s.startAgent);
  const signedIn = useStore((s) => s.session.phase === 'signed_in');
  const identity = useStore((s) => s.session.identity);
  return (
    <section className="card" aria-labelledby="local-title" id="local">
      <div className="card-head">
        <h2 id="local-title">This browser</h2>
        <div className="row">
          <button type="button" className="ghost small" disabled={!signedIn} onClick={() => void startAgent('echo')}>+ echo agent</button>
          <button type="button" className="ghost small" disabled={!signedIn} onClick={() => void startAgent('math')}>+ math agent</button>
        </div>
      </div>
      <p className="muted identity" data-testid="identity">
        {identity ? `Device identity: ${identity}` : 'No device certificate: links to peers that require identity proofs are refused.'}
      </p>
      {agents.length === 0 && <p className="muted empty">No agents run in this browser. Each agent gets its own Web Worker.</p>}
      <ul className="agent-list">{agents.map((a) => <LocalAgent key={a.id} agent={a} />)}</ul>
    </section>
  );
}

function LocalAgent({ agent }: { agent: LocalAgentView }) {
  const stopAgent = useStore((s) => s.stopAgent);
  const restartAgent = useStore((s) => s.restartAgent);
  const removeAgent = useStore((s) => s.removeAgent);
  const removeSkill = useStore((s) => s.removeSkill);
  const [adding, setAdding] = useState(false);
  const running = agent.status === 'running' || agent.status === 'starting' || agent.status === 'restarting';
  return (
    <li className="agent" data-testid="local-agent" data-agent={agent.id} data-status={agent.status}>
      <div className="agent-top">
        <span className={`chip status-${agent.status}`}>{agent.status}</span>
        <strong className="agent-name">{agent.id}</strong>
        <span className="muted">{agent.kind}{agent.restarts ? ` · restarted ${agent.restarts}×` : ''}</span>
      </div>
      <ul className="chips" aria-label="Skills">
        {agent.skills.map((s) => (
          <li key={s.name} className={`chip skill${s.custom ? ' custom' : ''}`} title={s.description}>
            {s.name}
            {s.custom && <button type="button" className="chip-x" aria-label={`Remove skill ${s.name}`} onClick={() => void removeSkill(agent.id, s.name)}>✕</button>}
          </li>
        ))}
      </ul>
      {agent.lastError && <p className="error" data-testid="agent-error">{agent.lastError}</p>}
      <div className="row">
        {running
          ? <button type="button" className="ghost small" onClick={() => void stopAgent(agent.id)}>Stop</button>
          : <button type="button" className="ghost small" onClick={() => void restartAgent(agent.id)}>Start</button>}
        <button type="button" className="ghost small" onClick={() => setAdding((v) => !v)} aria-expanded={adding}>Add skill</button>
        {!running && <button type="button" className="ghost small danger" onClick={() => void removeAgent(agent.id)}>Remove</button>}
      </div>
      {adding && <AddSkill agentId={agent.id} onDone={() => setAdding(false)} />}
    </li>
  );
}

function AddSkill({ agentId, onDone }: { agentId: string; onDone: () => void }) {
  const addSkill = useStore((s) => s.addSkill);
  const [name, setName] = useState('');
  const [code, setCode] = useState(SAMPLE);
  const [timeout, setTimeoutMs] = useState(2000);
  const [error, setError] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!/^[\w.:-]{1,64}$/.test(name)) { setError('Skill names use letters, digits, . _ : - (up to 64)'); return; }
    setError('');
    void addSkill(agentId, name, code, timeout).then(onDone);
  };
  return (
    <form className="skill-form" onSubmit={submit} aria-label={`Add a skill to ${agentId}`}>
      <label>Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="add" data-testid="skill-name" autoComplete="off" /></label>
      <label>Time limit (ms) <input type="number" min={50} max={60000} value={timeout} onChange={(e) => setTimeoutMs(Number(e.target.value))} data-testid="skill-timeout" /></label>
      <label>JavaScript function
        <textarea value={code} onChange={(e) => setCode(e.target.value)} rows={5} spellCheck={false} className="mono" data-testid="skill-code" />
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="row">
        <button type="submit" className="primary small">Add skill</button>
        <button type="button" className="ghost small" onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}
