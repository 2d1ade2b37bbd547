import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { baseUrlOf, PROVIDER_DEFAULTS, type ProviderConfig } from './definition.ts';

/**
 * The provider side of an LLM agent: one streaming chat-completions call. The `openai` package
 * speaks the wire format (SSE chunks, tool-call deltas, error bodies, retries with `retry-after`)
 * for every OpenAI-compatible server — OpenAI, Azure OpenAI, Ollama, llama.cpp, vLLM, LM Studio —
 * in a Web Worker and in Node alike. What it leaves open is made explicit here: a stream that
 * ends without a `finish_reason` (cut in the middle) and a stream that goes silent (idle timeout)
 * are errors, and every error becomes an `LlmError` a person can act on.
 */
export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
export type ChatTool = OpenAI.Chat.Completions.ChatCompletionFunctionTool;
export type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk;

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ChatTool[];
  temperature?: number;
  max_tokens?: number;
}

export interface ChatProvider {
  /** For messages: "openai gpt-4o-mini at https://…". */
  readonly label: string;
  /**
   * Streams the completion; throws `LlmError`. `signal` stops it at the provider. `onActivity` is
   * called whenever the provider answers anything (a retried error too): the idle timeout's clock.
   */
  stream(req: ChatRequest, signal: AbortSignal, onActivity?: () => void): AsyncIterable<ChatChunk>;
}

export type LlmErrorCode =
  | 'auth'
  | 'forbidden'
  | 'not_found'
  | 'bad_request'
  | 'rate_limited'
  | 'provider_error'
  | 'unreachable'
  | 'timeout'
  | 'stream_cut'
  | 'bad_stream'
  | 'cancelled'
  | 'tool_rounds';

export class LlmError extends Error {
  constructor(
    readonly code: LlmErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

/** Retries of 429 / 5xx / connection errors inside one call (the SDK waits `retry-after` up to 60 s). */
export const MAX_RETRIES = 2;

export interface OpenAiProviderOptions {
  apiKey?: string | undefined;
  /** Retries inside one call (default MAX_RETRIES). */
  maxRetries?: number;
  fetch?: typeof fetch;
}

export function openAiProvider(p: ProviderConfig, o: OpenAiProviderOptions = {}): ChatProvider {
  const baseURL = baseUrlOf(p);
  if (!baseURL) throw new LlmError('bad_request', `provider ${p.kind} needs a base URL`);
  if (PROVIDER_DEFAULTS[p.kind].needsKey && !o.apiKey) throw new LlmError('auth', `no API key for the ${p.kind} provider`);
  const maxRetries = o.maxRetries ?? MAX_RETRIES;
  const doFetch = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  // One client per call: its fetch tells this call's idle clock about every attempt and answer.
  const clientFor = (onActivity: () => void) =>
    new OpenAI({
      baseURL,
      // A local server (Ollama, llama.cpp) takes any key; the SDK insists on one.
      apiKey: o.apiKey || 'no-key',
      maxRetries,
      // Our own idle timeout covers silence at any point; the SDK's would retry a timeout.
      timeout: 24 * 3600_000,
      // The key belongs to the person whose browser this is, and stays on this device (docs/llm-agents.md).
      dangerouslyAllowBrowser: true,
      ...(p.kind === 'azure' && o.apiKey && { defaultHeaders: { 'api-key': o.apiKey } }),
      ...(p.api_version && { defaultQuery: { 'api-version': p.api_version } }),
      fetch: async (url: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
        onActivity();
        const res = await doFetch(url, init);
        onActivity();
        return res;
      },
    });
  const label = `${p.kind} ${p.model} at ${baseURL}`;
  return {
    label,
    async *stream(req, signal, onActivity = () => {}) {
      let finished = false;
      try {
        const stream = await clientFor(onActivity).chat.completions.create(
          {
            model: p.model,
            messages: req.messages,
            stream: true,
            ...(req.tools?.length && { tools: req.tools }),
            ...(req.temperature !== undefined && { temperature: req.temperature }),
            // OpenAI's newer models take only max_completion_tokens; other servers know max_tokens.
            ...(req.max_tokens !== undefined && (p.kind === 'openai' ? { max_completion_tokens: req.max_tokens } : { max_tokens: req.max_tokens })),
          },
          { signal },
        );
        for await (const chunk of stream) {
          if (chunk.choices?.some((c) => c.finish_reason)) finished = true;
          yield chunk;
        }
      } catch (err) {
        throw explain(err, label, signal, maxRetries);
      }
      // The SDK ends quietly when the request was aborted or the connection closed early.
      if (signal.aborted) throw explain(signal.reason, label, signal, maxRetries);
      if (!finished) throw new LlmError('stream_cut', `the provider's stream (${label}) ended in the middle of the answer, without a finish_reason`);
    },
  };
}

/** Any failure of a provider call → an LlmError that says what happened and what to do. */
export function explain(err: unknown, label: string, signal: AbortSignal | undefined, retries = MAX_RETRIES): LlmError {
  if (err instanceof LlmError) return err;
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof LlmError) return reason;
    return new LlmError('cancelled', 'stopped: the requester cancelled');
  }
  if (err instanceof APIUserAbortError) return new LlmError('cancelled', 'stopped: the requester cancelled');
  if (err instanceof APIConnectionTimeoutError) return new LlmError('timeout', `${label} did not answer in time`);
  if (err instanceof APIConnectionError) {
    const cause = err.cause;
    // Node's fetch puts the socket error (ECONNREFUSED, ENOTFOUND) one cause deeper.
    const inner = cause instanceof Error ? cause.cause : undefined;
    const code = inner instanceof Object && 'code' in inner ? String(inner.code) : '';
    const why = cause instanceof Error ? `${cause.message}${code ? ` (${code})` : ''}` : err.message;
    return new LlmError(
      'unreachable',
      `could not reach ${label}: ${why}. In a browser tab the same error means the provider does not allow calls from this page (CORS): OpenAI does, Ollama needs OLLAMA_ORIGINS, others can be used through a Pi as gateway (docs/llm-agents.md).`,
    );
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const body = err.error;
    const said = body instanceof Object && 'message' in body && typeof body.message === 'string' ? body.message : err.message;
    const s = err.status;
    if (s === 401) return new LlmError('auth', `the provider refused the API key (401): ${said}`);
    if (s === 403) return new LlmError('forbidden', `the provider refused the request (403): ${said}`);
    if (s === 404) return new LlmError('not_found', `not found at ${label} (404): ${said} — check the model name and the base URL`);
    if (s === 429) return new LlmError('rate_limited', `rate limited by the provider (429), still after ${retries} retries: ${said}`);
    if (s >= 500) return new LlmError('provider_error', `the provider failed (${s}), still after ${retries} retries: ${said}`);
    return new LlmError('bad_request', `the provider refused the request (${s}): ${said}`);
  }
  if (err instanceof APIError) return new LlmError('provider_error', `the provider sent an error in the stream: ${err.message}`);
  if (err instanceof SyntaxError) return new LlmError('bad_stream', `the provider sent a malformed stream event (${label}): ${err.message}`);
  const msg = err instanceof Error ? err.message : String(err);
  if (/terminated|other side closed|ECONNRESET|socket hang up|network error/i.test(msg)) {
    return new LlmError('stream_cut', `the connection to ${label} broke in the middle of the answer (${msg})`);
  }
  return new LlmError('provider_error', `${label}: ${msg}`);
}
