import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useStore } from '../state/store.ts';
import { chatKey } from '../state/chat-slice.ts';
import type { ToolView } from '../state/views.ts';

const EMPTY: never[] = [];

/** Chat with any agent: agent_prompt out, agent_stream_chunk / agent_response streamed in. */
export function Chat({
  target,
  onTarget,
}: {
  target: { agent: string; peerId: string } | null;
  onTarget: (t: { agent: string; peerId: string } | null) => void;
}) {
  const agents = useStore((s) => s.registry.agents);
  const self = useStore((s) => s.session.peerId);
  const messages = useStore((s) => (target ? (s.chats[chatKey(target.agent, target.peerId)] ?? EMPTY) : EMPTY));
  const sendPrompt = useStore((s) => s.sendPrompt);
  const stopPrompt = useStore((s) => s.stopPrompt);
  const answering = messages.some((m) => (m.from === 'agent' || m.from === 'tool') && !m.done);
  const [text, setText] = useState('');
  const logRef = useRef<HTMLOListElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: scrolls to the end whenever the messages change
  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages]);

  // Named agents only: a peer's own record (agent_id = peer id) is the sum of its agents, not one to talk to.
  const choices = agents.filter((a) => a.peer_id && a.agent_id !== a.peer_id);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!target || !text.trim()) return;
    void sendPrompt(target.agent, target.peerId, text.trim());
    setText('');
  };
  const value = target ? `${target.agent}@${target.peerId}` : '';
  // The agent left the registry (its peer signed out or was revoked): say so, offer nothing to send.
  const gone = !!target && !choices.some((a) => a.agent_id === target.agent && a.peer_id === target.peerId);
  return (
    <section className="card chat" aria-labelledby="chat-title" id="chat">
      <div className="card-head">
        <h2 id="chat-title">Chat</h2>
        <label className="inline">
          <span className="sr-only">Agent</span>
          <select
            value={value}
            data-testid="chat-target"
            onChange={(e) => {
              const a = choices.find((x) => `${x.agent_id}@${x.peer_id}` === e.target.value);
              onTarget(a ? { agent: a.agent_id, peerId: a.peer_id } : null);
            }}
          >
            <option value="">Choose an agent…</option>
            {gone && (
              <option value={value} disabled>
                {target.agent} (gone)
              </option>
            )}
            {choices.map((a) => (
              <option key={`${a.agent_id}@${a.peer_id}`} value={`${a.agent_id}@${a.peer_id}`}>
                {a.agent_id} on {a.peer_id}
                {a.peer_id === self ? ' (this browser)' : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ol className="chat-log" ref={logRef} aria-live="polite" aria-label="Messages" data-testid="chat-log">
        {!target && <li className="muted empty">Pick an agent to talk to. Replies stream in as the agent writes them.</li>}
        {messages.map((m) =>
          m.tool ? (
            <ToolLine key={m.id} tool={m.tool} />
          ) : m.from === 'agent' && m.done && !m.text ? null : (
            <li key={m.id} className={`msg msg-${m.from}${m.done ? '' : ' msg-streaming'}`} data-testid={`msg-${m.from}`}>
              {m.text}
            </li>
          ),
        )}
      </ol>
      {gone && (
        <p className="muted small" data-testid="chat-gone">
          {target.agent} is no longer in the mesh: messages to it cannot be delivered. Choose another agent.
        </p>
      )}
      <form className="chat-form" onSubmit={submit}>
        <label htmlFor="chat-input" className="sr-only">
          Message
        </label>
        <input
          id="chat-input"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={target ? `Message ${target.agent}` : 'Choose an agent first'}
          disabled={!target || gone}
          autoComplete="off"
        />
        {answering && target ? (
          <button type="button" className="ghost" data-testid="chat-stop" onClick={() => void stopPrompt(target.agent, target.peerId)}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={!target || gone || !text.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}

/** One tool call of an LLM agent: which skill, on which agent and peer, over which tier, how long, and what came back. */
function ToolLine({ tool }: { tool: ToolView }) {
  const where = [tool.agent_id, tool.peer_id && `on ${tool.peer_id}`, tool.tier, tool.ms !== undefined && `${tool.ms} ms`].filter(Boolean).join(' · ');
  return (
    <li
      className={`msg msg-tool tool-${tool.state}`}
      data-testid="msg-tool"
      data-skill={tool.skill}
      data-state={tool.state}
      data-agent={tool.agent_id ?? ''}
      data-peer={tool.peer_id ?? ''}
      data-tier={tool.tier ?? ''}
    >
      <span className="tool-head">
        <span aria-hidden="true">⚙ </span>
        <strong>{tool.skill}</strong>
        {tool.args && tool.args !== '{}' && <span className="mono muted"> {tool.args}</span>}
        {tool.state === 'running' && <span className="muted"> — running…</span>}
      </span>
      {where && <span className="tool-where muted">{where}</span>}
      {tool.result !== undefined && <span className="tool-result mono">→ {tool.result}</span>}
      {tool.error && <span className="tool-result error">✕ {tool.error}</span>}
    </li>
  );
}
