/**
 * A stand-in for an OpenAI-compatible chat-completions server, for tests (a real provider cannot
 * run here). It speaks the published wire format of `POST /v1/chat/completions`:
 * - `stream: true` answers `text/event-stream`: one `data: {chat.completion.chunk}` event per piece,
 *   the first delta carrying `role`, text in `choices[0].delta.content`, tool calls as
 *   `choices[0].delta.tool_calls[i]` fragments (`id`, `type`, `function.name` first, then
 *   `function.arguments` in pieces, joined by `index`), a last chunk with `finish_reason`, a usage
 *   chunk with empty `choices` when `stream_options.include_usage`, then `data: [DONE]`;
 * - `stream: false` answers one `chat.completion` object;
 * - errors are `{"error": {"message", "type", "param", "code"}}` with 400/401/429 (`retry-after`)/5xx;
 * - CORS as OpenAI's API does it (any origin, preflight answered), unless `cors: false`.
 * Every object it sends is typed with the `openai` package's own types, so a field the API does
 * not have, or a wrong literal, fails the typecheck.
 *
 * Its "model" is a few rules on the last message, so tests steer it with the chat text:
 *  - `use <tool> with <json>` (and the tool was offered) → a tool call with those arguments;
 *  - a `tool` message last → "The <tool> tool says: <content>";
 *  - `count to <n>` → "1 2 3 … n", one number per chunk;
 *  - anything else → "Hello! You said: <text>", a word per chunk.
 * `failNext()` queues a failure for the next request(s): 401, 429, 500, a stream cut in the
 * middle, a malformed SSE line, or a stall (headers and one chunk, then silence).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type OpenAI from 'openai';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Completion = OpenAI.Chat.Completions.ChatCompletion;
type Params = OpenAI.Chat.Completions.ChatCompletionCreateParams;
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ToolCallDelta = OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall;
/** OpenAI's error body (the `openai` package reads `error` into APIError). */
interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export type Failure =
  | { kind: 'status'; status: 400 | 401 | 403 | 404 | 429 | 500 | 502 | 503; retryAfterS?: number }
  /** sends `afterChunks` chunks, then destroys the connection (no [DONE]) */
  | { kind: 'cut'; afterChunks: number }
  /** sends one good chunk, then a `data:` line that is not JSON */
  | { kind: 'malformed' }
  /** sends headers and one chunk, then nothing until the client gives up */
  | { kind: 'stall' };

export interface RecordedRequest {
  n: number;
  body: Params;
  authorization: string | undefined;
  origin: string | undefined;
  /** How the exchange ended: `done` ([DONE] sent), `failed` (a queued failure), `client_closed` (the client went away first). */
  outcome: 'open' | 'done' | 'failed' | 'client_closed';
  chunksSent: number;
  endedAt?: number;
}

export interface StandInOptions {
  /** The key it accepts (`Authorization: Bearer <key>`); undefined accepts any (like Ollama). */
  apiKey?: string;
  /** Delay between streamed chunks (ms). */
  chunkDelayMs?: number;
  /** Answer CORS preflights and send Access-Control-Allow-Origin (default true). */
  cors?: boolean;
}

export interface StandInProvider {
  /** Base URL to configure a client with: `http://127.0.0.1:<port>/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  failNext(f: Failure, times?: number): void;
  setChunkDelay(ms: number): void;
  close(): Promise<void>;
}

const MODEL_CREATED = 1_700_000_000;

export async function startStandInProvider(opts: StandInOptions = {}): Promise<StandInProvider> {
  const failures: Failure[] = [];
  const requests: RecordedRequest[] = [];
  let delay = opts.chunkDelayMs ?? 15;
  const cors = opts.cors ?? true;
  const sockets = new Set<import('node:net').Socket>();

  const server: Server = createServer(
    (req, res) =>
      void handle(req, res).catch((err) => {
        if (!res.headersSent) sendError(res, 500, { message: String(err), type: 'server_error', param: null, code: null });
        else res.destroy();
      }),
  );
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'retry-after, x-request-id');
    }
    if (req.method === 'OPTIONS') {
      if (!cors) return void res.writeHead(404).end();
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'authorization, content-type',
        'Access-Control-Max-Age': '600',
      });
      return void res.end();
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      return json(res, 200, { object: 'list', data: [{ id: 'stand-in-1', object: 'model', created: MODEL_CREATED, owned_by: 'chatixia-tests' }] });
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return sendError(res, 404, {
        message: `Unknown request URL: ${req.method} ${url.pathname}.`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      });
    }
    const raw = await readBody(req);
    let body: Params;
    try {
      body = JSON.parse(raw) as Params;
    } catch {
      return sendError(res, 400, { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null });
    }
    const rec: RecordedRequest = {
      n: requests.length + 1,
      body,
      authorization: req.headers.authorization,
      origin: req.headers.origin,
      outcome: 'open',
      chunksSent: 0,
    };
    requests.push(rec);
    res.on('close', () => {
      if (rec.outcome === 'open') rec.outcome = 'client_closed';
      rec.endedAt ??= Date.now();
    });
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      rec.outcome = 'failed';
      return sendError(res, 400, { message: "'messages' and 'model' are required properties.", type: 'invalid_request_error', param: 'messages', code: null });
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      rec.outcome = 'failed';
      const shown = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return sendError(res, 401, {
        message: `Incorrect API key provided: ${shown.slice(0, 3)}*****${shown.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
    }
    const failure = failures.shift();
    if (failure?.kind === 'status') {
      rec.outcome = 'failed';
      return statusFailure(res, failure);
    }
    const id = `chatcmpl-${rec.n}`;
    const plan = answer(body);
    if (!body.stream) {
      rec.outcome = 'done';
      return json(res, 200, completion(id, body.model, plan));
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const chunks = streamChunks(id, body.model, plan, body.stream_options?.include_usage === true);
    for (const [i, c] of chunks.entries()) {
      if (rec.outcome !== 'open') return;
      if (failure?.kind === 'cut' && i === failure.afterChunks) {
        rec.outcome = 'failed';
        return void res.socket?.destroy();
      }
      if (failure?.kind === 'malformed' && i === 1) {
        rec.outcome = 'failed';
        res.write('data: {"id": "' + id + '", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "bro\n\n');
        return void res.end();
      }
      if (failure?.kind === 'stall' && i === 1) {
        rec.outcome = 'failed';
        return; // keep the connection open and silent
      }
      res.write(`data: ${JSON.stringify(c)}\n\n`);
      rec.chunksSent++;
      if (delay > 0) await sleep(delay);
    }
    if (rec.outcome !== 'open') return;
    res.end('data: [DONE]\n\n');
    rec.outcome = 'done';
    rec.endedAt = Date.now();
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext: (f, times = 1) => {
      for (let i = 0; i < times; i++) failures.push(f);
    },
    setChunkDelay: (ms) => {
      delay = ms;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

// ─── the "model" ──────────────────────────────────────────────────────

type Plan = { text: string[] } | { tool: { name: string; args: string } };

function textOf(m: Message | undefined): string {
  if (!m) return '';
  const c = m.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => ('text' in p ? p.text : '')).join('');
  return '';
}

function answer(body: Params): Plan {
  const msgs = body.messages;
  const last = msgs[msgs.length - 1];
  if (last?.role === 'tool') {
    // The tool message answers an assistant tool call; name the tool it answered.
    const call = msgs.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : [])).find((c) => c.id === last.tool_call_id);
    const name = call && call.type === 'function' ? call.function.name : 'unknown';
    return { text: words(`The ${name} tool says: ${textOf(last)}`) };
  }
  const said = textOf([...msgs].reverse().find((m) => m.role === 'user'));
  const use = /\buse (\S+)(?: with (\{.*\}))?/s.exec(said);
  const offered = (body.tools ?? []).flatMap((t) => (t.type === 'function' ? [t.function.name] : []));
  if (use && offered.includes(use[1]!)) return { tool: { name: use[1]!, args: use[2] ?? '{}' } };
  const count = /\bcount to (\d+)/.exec(said);
  if (count) return { text: Array.from({ length: Math.min(10_000, Number(count[1])) }, (_, i) => `${i + 1} `) };
  return { text: words(`Hello! You said: ${said}`) };
}

const words = (t: string) => t.match(/\S+\s*/g) ?? [t];

function streamChunks(id: string, model: string, plan: Plan, usage: boolean): Chunk[] {
  const base = {
    id,
    object: 'chat.completion.chunk' as const,
    created: MODEL_CREATED,
    model,
    system_fingerprint: 'fp_stand_in',
    ...(usage && { usage: null }),
  };
  const chunk = (delta: Chunk['choices'][number]['delta'], finish: Chunk['choices'][number]['finish_reason'] = null): Chunk =>
    ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }) satisfies Chunk;
  const out: Chunk[] = [chunk({ role: 'assistant', content: '' })];
  if ('text' in plan) {
    for (const w of plan.text) out.push(chunk({ content: w }));
    out.push(chunk({}, 'stop'));
  } else {
    const head: ToolCallDelta = { index: 0, id: `call_${id.slice(-6)}`, type: 'function', function: { name: plan.tool.name, arguments: '' } };
    out.push(chunk({ tool_calls: [head] }));
    // Arguments arrive in pieces, as the API streams them.
    const a = plan.tool.args;
    const cuts = [0, Math.floor(a.length / 3), Math.floor((2 * a.length) / 3), a.length];
    for (let i = 0; i < 3; i++) out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: a.slice(cuts[i], cuts[i + 1]) } }] }));
    out.push(chunk({}, 'tool_calls'));
  }
  if (usage) out.push({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: out.length, total_tokens: 10 + out.length } } satisfies Chunk);
  return out;
}

function completion(id: string, model: string, plan: Plan): Completion {
  const message: Completion['choices'][number]['message'] =
    'text' in plan
      ? { role: 'assistant', content: plan.text.join(''), refusal: null }
      : {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: `call_${id.slice(-6)}`, type: 'function', function: { name: plan.tool.name, arguments: plan.tool.args } }],
        };
  return {
    id,
    object: 'chat.completion',
    created: MODEL_CREATED,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'text' in plan ? 'stop' : 'tool_calls' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  } satisfies Completion;
}

// ─── HTTP bits ────────────────────────────────────────────────────────

function statusFailure(res: ServerResponse, f: Extract<Failure, { kind: 'status' }>): void {
  const bodies: Record<number, ErrorBody['error']> = {
    400: { message: 'Invalid request.', type: 'invalid_request_error', param: null, code: null },
    401: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    403: { message: 'Country, region, or territory not supported', type: 'request_forbidden', param: null, code: 'unsupported_country_region_territory' },
    404: { message: 'The model `nope` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' },
    429: { message: 'Rate limit reached for requests. Please try again in 1s.', type: 'requests', param: null, code: 'rate_limit_exceeded' },
    500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
    502: { message: 'Bad gateway.', type: 'server_error', param: null, code: null },
    503: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: null },
  };
  if (f.retryAfterS !== undefined) res.setHeader('retry-after', String(f.retryAfterS));
  sendError(res, f.status, bodies[f.status]!);
}

function sendError(res: ServerResponse, status: number, error: ErrorBody['error']): void {
  json(res, status, { error } satisfies ErrorBody);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      s += d;
      if (s.length > 4 * 1024 * 1024) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
