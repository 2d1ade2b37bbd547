/** A tiny HTTP server on 127.0.0.1 for the browser scenarios: in-memory files plus optional folders. */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

/** Cross-origin isolation gives pages 5 µs performance.now() instead of 100 µs (ping timings). */
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

export interface StaticServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * `files` maps a path ("/bare.js") to its content; `dirs` maps a URL prefix ("/dist/") to a folder.
 * `spaIndex`, when given, is served for unknown paths under that prefix (PWA fallback).
 */
export async function startStaticServer(
  files: Record<string, string>,
  dirs: Record<string, string> = {},
  spaIndex?: string,
  isolate = true,
): Promise<StaticServer> {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (body: string | Buffer, type: string) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...(isolate ? ISOLATED : {}) });
      res.end(body);
    };
    if (files[path] !== undefined) return send(files[path]!, TYPES[extname(path)] ?? 'text/html; charset=utf-8');
    for (const [prefix, dir] of Object.entries(dirs)) {
      if (!path.startsWith(prefix)) continue;
      const rel = normalize(path.slice(prefix.length) || 'index.html');
      if (rel.startsWith('..')) break;
      try {
        return send(await readFile(join(dir, rel)), TYPES[extname(rel)] ?? 'application/octet-stream');
      } catch {
        if (spaIndex && !extname(rel)) {
          try {
            return send(await readFile(join(dir, spaIndex)), TYPES['.html']!);
          } catch {
            /* fall through */
          }
        }
      }
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
