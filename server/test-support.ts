/** Small helpers for the registry's own tests (real HTTP and WebSocket against a real registry). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';

export interface ApiAnswer {
  status: number;
  body: any;
  headers: Headers;
}

export async function api(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; apiKey?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.apiKey) headers['X-API-Key'] = opts.apiKey;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['Content-Type'] ??= 'application/json';
  const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Frame {
  type: string;
  peer_id?: string;
  target_id?: string;
  payload: any;
}

/** A signaling client that queues frames so a test can await the next one of a type. */
export class TestSocket {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d, isBinary) => {
      if (isBinary) return;
      try {
        this.frames.push(JSON.parse(d.toString()) as Frame);
      } catch {
        /* ignore */
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    this.opened = new Promise((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
      ws.once('unexpected-response', (_req, r) => rej(new Error(`upgrade refused: ${r.statusCode}`)));
    });
    this.closed = new Promise((res) =>
      ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.waiters.splice(0).forEach((w) => w());
        res(this.closeInfo);
      }),
    );
    ws.on('error', () => undefined);
  }

  static async open(url: string, opts: { token?: string; query?: boolean; protocols?: string[] } = {}): Promise<TestSocket> {
    let u = url;
    let protocols = opts.protocols;
    if (opts.token && opts.query) u += `?token=${encodeURIComponent(opts.token)}`;
    else if (opts.token) protocols = ['chatixia-jwt', opts.token];
    const s = new TestSocket(new WebSocket(u, protocols));
    await s.opened;
    return s;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame matching `type` (consumed from the queue). */
  async next(type: string, timeoutMs = 10_000, match: (f: Frame) => boolean = () => true): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.type === type && match(f));
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code}) before a ${type} frame; got ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /** Asserts that no frame of `type` arrives within `ms`. */
  async none(type: string, ms = 300): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return !this.frames.some((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens, registers, and waits for the peer_list answer. */
export async function registeredPeer(wsUrl: string, token: string, peerId: string): Promise<{ sock: TestSocket; peers: string[] }> {
  const sock = await TestSocket.open(wsUrl, { token });
  sock.send({ type: 'register', peer_id: peerId, payload: {} });
  const list = await sock.next('peer_list');
  return { sock, peers: list.payload.peers as string[] };
}

/** A raw SSE reader of GET /api/events: keeps every block (`event:` and `data:` lines) and knows when the stream ended. */
export class TestEventStream {
  readonly blocks: { event: string; data: string }[] = [];
  readonly ended: Promise<void>;
  private buf = '';

  private constructor(
    readonly res: Response,
    private readonly ctl: AbortController,
  ) {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    this.ended = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          this.buf += decoder.decode(value, { stream: true });
          let i: number;
          while ((i = this.buf.indexOf('\n\n')) >= 0) {
            const raw = this.buf.slice(0, i);
            this.buf = this.buf.slice(i + 2);
            const lines = raw.split('\n');
            const data = lines
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trim())
              .join('\n');
            const event =
              lines
                .find((l) => l.startsWith('event:'))
                ?.slice(6)
                .trim() ?? 'message';
            if (data) this.blocks.push({ event, data });
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }

  static async open(base: string, token: string): Promise<TestEventStream> {
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/events`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal: ctl.signal });
    if (!res.ok) throw new Error(`GET /api/events: ${res.status} ${await res.text()}`);
    return new TestEventStream(res, ctl);
  }

  /** Parsed `data:` JSON of the plain (unnamed) events. */
  events(): { type: string; data: any }[] {
    return this.blocks.filter((b) => b.event === 'message').map((b) => JSON.parse(b.data));
  }

  close(): void {
    this.ctl.abort();
  }
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/**
 * A registry JWT made by the test, not the registry, for the refusal tests: HS256 with the
 * registry's own key (from its data dir) unless `key` names another, or `unsigned` (alg none).
 * `exp`/`iat` as jose takes them (epoch seconds, or a span like '5m').
 */
export async function forgeToken(
  registry: { dataDir: string },
  claims: { sub: string; role: string; exp: number | string; iat?: number },
  how: { key?: string; unsigned?: boolean } = {},
): Promise<string> {
  const { sub, role, exp, iat } = claims;
  if (how.unsigned) return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, role, iss: 'chatixia-registry', exp })}.`;
  const key = new TextEncoder().encode(how.key ?? readFileSync(join(registry.dataDir, 'signing.key'), 'utf8').trim());
  const jwt = new SignJWT({ role }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(sub).setIssuer('chatixia-registry');
  if (iat !== undefined) jwt.setIssuedAt(iat);
  return jwt.setExpirationTime(exp).sign(key);
}
