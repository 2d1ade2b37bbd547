import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { AppEnv } from '../http/context.ts';
import { sendError } from '../http/errors.ts';

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>chatixia-mesh</title>
<p>The registry is running, but the web app is not built. Run <code>npm run build</code> (or start with <code>npm start</code>, which builds it) and reload.</p>`;

/**
 * The page's Content-Security-Policy: its own scripts only (no inline script, no eval in the page —
 * an agent's typed-in skill compiles inside its worker, whose script response carries no policy),
 * connections to this origin only, never framed. Inline style attributes stay allowed (React).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Serves the built PWA from `distDir`, with SPA fallback to index.html for page routes. */
export function staticRoutes(distDir: string) {
  const app = new Hono<AppEnv>();
  // Made on first use: the build may appear after the registry started.
  let files: ReturnType<typeof serveStatic<AppEnv>> | undefined;
  const makeFiles = () =>
    serveStatic<AppEnv>({
      root: distDir,
      onFound: (path, c) => {
        // The app shell and service worker must revalidate; hashed assets never change.
        if (/\/(index\.html|sw\.js|registerSW\.js|manifest\.webmanifest)$/.test(path)) c.header('Cache-Control', 'no-cache');
        else if (path.includes('/assets/')) c.header('Cache-Control', 'public, max-age=31536000, immutable');
      },
    });
  const isApi = (p: string) => p === '/ws' || p.startsWith('/api/') || p === '/api' || p.startsWith('/.well-known/');

  app.get('*', async (c, next) => {
    if (isApi(c.req.path)) return next();
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.res.headers.set('Content-Security-Policy', PAGE_CSP);
      c.res.headers.set('X-Frame-Options', 'DENY');
    }
  });
  app.get('*', async (c, next) => {
    if (isApi(c.req.path)) return next();
    const index = join(distDir, 'index.html');
    if (!existsSync(index)) return c.html(NOT_BUILT, 503);
    files ??= makeFiles();
    const served = await files(c, async () => undefined);
    if (served) return served;
    // A path with a file extension that is not there is a real 404; page routes get the app shell.
    if (/\.[a-z0-9]{1,8}$/i.test(c.req.path)) return sendError(c, 404, 'not_found', 'file not found');
    c.header('Cache-Control', 'no-cache');
    return c.html(readFileSync(index, 'utf8'));
  });
  return app;
}
