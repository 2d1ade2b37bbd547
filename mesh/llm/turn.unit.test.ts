/** A turn's bound on tool rounds, with a model that never stops asking for a tool. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runTurn } from './turn.ts';
import { toolSet } from './tools.ts';
import type { ChatChunk, ChatMessage, ChatProvider, ChatRequest } from './provider.ts';

const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
});

test('max_tool_rounds bounds the tool rounds: then the model is asked without tools and must answer', async () => {
  const requests: ChatRequest[] = [];
  const provider: ChatProvider = {
    label: 'a model that always wants a tool',
    async *stream(req) {
      requests.push(req);
      if (req.tools) {
        yield chunk(
          { tool_calls: [{ index: 0, id: `call-${requests.length}`, type: 'function', function: { name: 'upper', arguments: '{"text":"again"}' } }] },
          'tool_calls',
        );
      } else {
        yield chunk({ content: 'done without tools' }, 'stop');
      }
    },
  };
  const ran: unknown[] = [];
  const added: ChatMessage[] = [];
  const pieces = [];
  for await (const p of runTurn(
    {
      provider,
      tools: toolSet([{ skill: 'upper', agents: [{ agent_id: 'upper@pi', peer_id: 'pi' }] }]),
      callTool: async (skill, args) => {
        ran.push([skill, args]);
        return { result: 'AGAIN', tier: 'direct', peer_id: 'pi', agent_id: 'upper@pi' };
      },
      maxToolRounds: 3,
      idleTimeoutMs: 5000,
      signal: new AbortController().signal,
    },
    [{ role: 'user', content: 'loop' }],
    added,
  ))
    pieces.push(p);

  assert.equal(ran.length, 3, 'three rounds of tools');
  assert.deepEqual(
    requests.map((r) => !!r.tools),
    [true, true, true, false],
  );
  assert.equal(pieces.at(-1), 'done without tools');
  assert.deepEqual(
    added.map((m) => m.role),
    ['assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool', 'assistant'],
  );
  assert.deepEqual(
    pieces.filter((p) => typeof p !== 'string').map((p) => p.tool.state),
    ['running', 'done', 'running', 'done', 'running', 'done'],
  );
});
