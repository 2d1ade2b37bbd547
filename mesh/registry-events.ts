import { REVOKED_SSE_EVENT, RevokedNotice, decodeRegistryEvent, type RegistryEvent } from './protocol/index.ts';

/**
 * Reads the registry's event stream (GET /api/events, server-sent events) until it ends or
 * `signal` aborts: each `data:` block goes to `onEvent` (a bad one is skipped); `event: revoked`
 * throws what `revoked` makes of its message.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: RegistryEvent) => void,
  revoked: (message: string) => Error,
  signal?: AbortSignal,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const lines = block.split('\n');
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).replace(/^ /, ''))
          .join('\n');
        if (lines.some((l) => /^event:\s*/.test(l) && l.replace(/^event:\s*/, '') === REVOKED_SSE_EVENT)) {
          throw revoked(revokedMessage(data));
        }
        if (!data) continue;
        // A bad event, or a listener that throws, must not end the stream.
        const event = decodeRegistryEvent(data);
        try {
          if (event) onEvent(event);
        } catch {
          /* the listener's business */
        }
      }
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError' || signal?.aborted) return;
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/** The message of an `event: revoked` data line (its shape checked; a bad one still means revoked). */
function revokedMessage(data: string): string {
  try {
    const notice = RevokedNotice.safeParse(JSON.parse(data));
    if (notice.success) return notice.data.message;
  } catch {
    /* not JSON */
  }
  return 'this credential was revoked';
}
