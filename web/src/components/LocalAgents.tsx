import { useState, type FormEvent } from 'react';
import { useStore } from '../state/store.ts';
import type { LocalAgentView } from '../state/views.ts';
import { PROVIDER_DEFAULTS, type ProviderKind } from '../../../mesh/llm/definition.ts';

const SAMPLE = "(args) => {\n  // runs inside this agent's worker; return a value or a promise\n  return { sum: args.a + args.b };\n}";

/** Agents running in this browser's Web Workers: start, stop, see skills, add a JavaScript skill. */
export function LocalAgents() {
  const agents = useStore((s) => s.localAgents);
  const startAgent = useStore((s) => s.startAgent);
  const signedIn = useStore((s) => s.session.phase === 'signed_in');
  const identity = useStore((s) => s.session.identity);
  const [addingLlm, setAddingLlm] = useState(false);
  return (
    <section className="card" aria-labelledby="local-title" id="local">
      <div className="card-head">
        <h2 id="local-title">This browser</h2>
        <div className="row">
          <button type="button" className="ghost small" disabled={!signedIn} onClick={() => void startAgent('echo')}>
            + echo agent
          </button>
          <button type="button" className="ghost small" disabled={!signedIn} onClick={() => void startAgent('math')}>
            + math agent
          </button>
          <button type="button" className="ghost small" disabled={!signedIn} aria-expanded={addingLlm} onClick={() => setAddingLlm((v) => !v)}>
            + LLM agent
          </button>
        </div>
      </div>
      {addingLlm && <AddLlmAgent onDone={() => setAddingLlm(false)} />}
      <p className="muted identity" data-testid="identity">
        {identity ? `Device identity: ${identity}` : 'No device certificate: links to peers that require identity proofs are refused.'}
      </p>
      {agents.length === 0 && <p className="muted empty">No agents run in this browser. Each agent gets its own Web Worker.</p>}
      <ul className="agent-list">
        {agents.map((a) => (
          <LocalAgent key={a.id} agent={a} />
        ))}
      </ul>
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
        <span className="muted">
          {agent.kind}
          {agent.restarts ? ` · restarted ${agent.restarts}×` : ''}
        </span>
      </div>
      <ul className="chips" aria-label="Skills">
        {agent.skills.map((s) => (
          <li key={s.name} className={`chip skill${s.custom ? ' custom' : ''}`} title={s.description}>
            {s.name}
            {s.custom && (
              <button type="button" className="chip-x" aria-label={`Remove skill ${s.name}`} onClick={() => void removeSkill(agent.id, s.name)}>
                ✕
              </button>
            )}
          </li>
        ))}
      </ul>
      {agent.lastError && (
        <p className="error" data-testid="agent-error">
          {agent.lastError}
        </p>
      )}
      <div className="row">
        {running ? (
          <button type="button" className="ghost small" onClick={() => void stopAgent(agent.id)}>
            Stop
          </button>
        ) : (
          <button type="button" className="ghost small" onClick={() => void restartAgent(agent.id)}>
            Start
          </button>
        )}
        {!agent.kind.startsWith('LLM') && (
          <button type="button" className="ghost small" onClick={() => setAdding((v) => !v)} aria-expanded={adding}>
            Add skill
          </button>
        )}
        {!running && (
          <button type="button" className="ghost small danger" onClick={() => void removeAgent(agent.id)}>
            Remove
          </button>
        )}
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
    if (!/^[\w.:-]{1,64}$/.test(name)) {
      setError('Skill names use letters, digits, . _ : - (up to 64)');
      return;
    }
    setError('');
    addSkill(agentId, name, code, timeout).then(onDone, (err: Error) => setError(`Skill ${name} not added: ${err.message}`));
  };
  return (
    <form className="skill-form" onSubmit={submit} aria-label={`Add a skill to ${agentId}`}>
      <label>
        Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="add" data-testid="skill-name" autoComplete="off" />
      </label>
      <label>
        Time limit (ms){' '}
        <input type="number" min={50} max={60000} value={timeout} onChange={(e) => setTimeoutMs(Number(e.target.value))} data-testid="skill-timeout" />
      </label>
      <label>
        JavaScript function
        <textarea value={code} onChange={(e) => setCode(e.target.value)} rows={5} spellCheck={false} className="mono" data-testid="skill-code" />
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary small">
          Add skill
        </button>
        <button type="button" className="ghost small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const KINDS: { kind: ProviderKind; label: string; model: string }[] = [
  { kind: 'openai', label: 'OpenAI', model: 'gpt-4o-mini' },
  { kind: 'ollama', label: 'Ollama (needs OLLAMA_ORIGINS for this page)', model: 'llama3.2' },
  { kind: 'azure', label: 'Azure OpenAI', model: 'gpt-4o-mini' },
  { kind: 'compatible', label: 'Other OpenAI-compatible server', model: '' },
  { kind: 'gateway', label: 'Through a Pi (its gateway skill; the key stays there)', model: 'gateway' },
];

/** "+ LLM agent": provider, model, key, prompt and the skills it may use. The key stays in this browser. */
function AddLlmAgent({ onDone }: { onDone: () => void }) {
  const addLlmAgent = useStore((s) => s.addLlmAgent);
  const known = useStore((s) => s.registry.agents);
  const [f, setF] = useState({
    name: 'assistant',
    kind: 'openai' as ProviderKind,
    baseUrl: '',
    model: 'gpt-4o-mini',
    key: '',
    gateway: 'llm_gateway',
    prompt: '',
    skills: '',
    temperature: '',
    maxTokens: '',
  });
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const skills = [...new Set(known.filter((a) => a.agent_id !== a.peer_id).flatMap((a) => a.skills))].sort();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const list = f.skills.split(/[\s,]+/).filter(Boolean);
    const definition = {
      name: f.name.trim(),
      provider: {
        kind: f.kind,
        model: f.model.trim() || 'default',
        ...(f.baseUrl.trim() && { base_url: f.baseUrl.trim() }),
        ...(f.kind === 'gateway' && { gateway_skill: f.gateway.trim() }),
      },
      ...(f.prompt.trim() && { system_prompt: f.prompt.trim() }),
      ...(list.length && { skills: list }),
      ...(f.temperature !== '' && { temperature: Number(f.temperature) }),
      ...(f.maxTokens !== '' && { max_tokens: Number(f.maxTokens) }),
    };
    setBusy(true);
    setError('');
    addLlmAgent(definition, f.key.trim())
      .then(onDone, (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  const needsKey = PROVIDER_DEFAULTS[f.kind].needsKey;
  return (
    <form className="llm-form" onSubmit={submit} aria-label="Add an LLM agent" data-testid="llm-form">
      <div className="row">
        <label>
          Name <input value={f.name} onChange={set('name')} data-testid="llm-name" autoComplete="off" required />
        </label>
        <label>
          Provider
          <select
            value={f.kind}
            data-testid="llm-kind"
            onChange={(e) => {
              const k = KINDS.find((x) => x.kind === e.target.value)!;
              setF({ ...f, kind: k.kind, model: k.model, baseUrl: '' });
            }}
          >
            {KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {f.kind === 'gateway' ? (
        <label>
          Gateway skill <input value={f.gateway} onChange={set('gateway')} data-testid="llm-gateway" autoComplete="off" />
        </label>
      ) : (
        <div className="row">
          <label>
            Base URL{' '}
            <input
              value={f.baseUrl}
              onChange={set('baseUrl')}
              data-testid="llm-base-url"
              placeholder={PROVIDER_DEFAULTS[f.kind].baseUrl ?? 'https://…/v1'}
              autoComplete="off"
            />
          </label>
          <label>
            Model <input value={f.model} onChange={set('model')} data-testid="llm-model" autoComplete="off" required />
          </label>
        </div>
      )}
      {f.kind !== 'gateway' && (
        <label>
          API key{needsKey ? '' : ' (optional)'}
          <input type="password" value={f.key} onChange={set('key')} data-testid="llm-key" autoComplete="off" required={needsKey} />
          <span className="muted small">Kept in this browser only (IndexedDB) and sent only to the provider — never to the registry or another peer.</span>
        </label>
      )}
      <label>
        System prompt{' '}
        <textarea rows={2} value={f.prompt} onChange={set('prompt')} data-testid="llm-prompt" placeholder="You are a helpful agent in a mesh of agents…" />
      </label>
      <label>
        Skills it may use (empty: all the policy allows)
        <input
          value={f.skills}
          onChange={set('skills')}
          data-testid="llm-skills"
          list="llm-skill-names"
          placeholder={skills.slice(0, 4).join(', ')}
          autoComplete="off"
        />
        <datalist id="llm-skill-names">
          {skills.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <div className="row">
        <label>
          Temperature <input type="number" min={0} max={2} step={0.1} value={f.temperature} onChange={set('temperature')} />
        </label>
        <label>
          Max tokens <input type="number" min={1} value={f.maxTokens} onChange={set('maxTokens')} />
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary small" disabled={busy}>
          Add LLM agent
        </button>
        <button type="button" className="ghost small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
