/**
 * The stand-in provider speaks the published chat-completions wire format: checked on the raw
 * bytes (SSE `data:` events, `[DONE]`, tool-call deltas joined by index, error bodies) and read back
 * with the `openai` package itself (its types also check every object the stand-in builds).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startStandInProvider, type StandInProvider } from '../test-support/stand-in-provider.ts';

let stand: StandInProvider;
before(async () => {
  stand = await startStandInProvider({ apiKey: 'sk-wire', chunkDelayMs: 0 });
});
after(async () => stand?.close());

const post = (body: unknown, key = 'sk-wire') =>
  fetch(`${stand.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
const tool = {
  type: 'function',
  function: { name: 'upper', description: 'Upper-cases', parameters: { type: 'object', properties: { text: { type: 'string' } } } },
};

test('stream: text/event-stream of data: chunks, then data: [DONE]; tool-call arguments arrive in pieces by index', async () => {
  const res = await post({
    model: 'm',
    stream: true,
    stream_options: { include_usage: true },
    tools: [tool],
    messages: [{ role: 'user', content: 'use upper with {"text":"hi there"}' }],
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = (await res.text()).split('\n\n').filter(Boolean);
  assert.ok(
    events.every((e) => e.startsWith('data: ')),
    'every event is a data: line',
  );
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as OpenAI.Chat.Completions.ChatCompletionChunk);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id));
  assert.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  assert.equal(deltas[0]!.function!.name, 'upper');
  assert.ok(deltas.length >= 3, 'arguments in pieces');
  assert.deepEqual(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join('')), { text: 'hi there' });
  assert.equal(chunks.at(-2)!.choices[0]!.finish_reason, 'tool_calls');
  assert.deepEqual(chunks.at(-1)!.choices, [], 'usage chunk last, with empty choices');
  assert.ok(chunks.at(-1)!.usage!.total_tokens > 0);
});

test('the openai client reads it: streamed text, a whole completion, and errors as APIError with the body', async () => {
  const client = new OpenAI({ baseURL: stand.baseUrl, apiKey: 'sk-wire', maxRetries: 0 });
  let text = '';
  for await (const c of await client.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'ping' }] }))
    text += c.choices[0]?.delta.content ?? '';
  assert.equal(text, 'Hello! You said: ping');
  const whole = await client.chat.completions.create({
    model: 'm',
    messages: [{ role: 'user', content: 'use upper with {"text":"x"}' }],
    tools: [tool as OpenAI.Chat.Completions.ChatCompletionFunctionTool],
  });
  assert.equal(whole.choices[0]!.finish_reason, 'tool_calls');
  assert.equal(whole.choices[0]!.message.tool_calls![0]!.type, 'function');
  const bad = new OpenAI({ baseURL: stand.baseUrl, apiKey: 'sk-nope-1234', maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    (e: unknown) =>
      e instanceof OpenAI.AuthenticationError &&
      e.status === 401 &&
      (e.error as { code?: string }).code === 'invalid_api_key' &&
      /sk-\*{5}1234/.test(e.message),
  );
  stand.failNext({ kind: 'status', status: 429, retryAfterS: 7 });
  const r429 = await post({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r429.status, 429);
  assert.equal(r429.headers.get('retry-after'), '7');
  assert.deepEqual(Object.keys(((await r429.json()) as { error: object }).error).sort(), ['code', 'message', 'param', 'type']);
  const r400 = await post({ model: 'm', messages: [] });
  assert.equal(r400.status, 400);
});

test("CORS like OpenAI's API: preflight answered with the requested headers; off when asked", async () => {
  const pre = await fetch(`${stand.baseUrl}/chat/completions`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'https://app.example',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,x-stainless-os',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization,content-type,x-stainless-os');
  const closed = await startStandInProvider({ cors: false });
  try {
    const p = await fetch(`${closed.baseUrl}/chat/completions`, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } });
    assert.equal(p.headers.get('access-control-allow-origin'), null);
  } finally {
    await closed.close();
  }
});
