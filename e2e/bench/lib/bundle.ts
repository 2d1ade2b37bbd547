/** Bundles browser-side bench code with esbuild (one IIFE per entry), cached per run. */
import { build } from 'esbuild';
import { join } from 'node:path';
import { REPO } from './proc.ts';

const cache = new Map<string, string>();

export async function bundle(entry: string): Promise<string> {
  const hit = cache.get(entry);
  if (hit) return hit;
  const out = await build({
    entryPoints: [join(REPO, entry)],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]!.text;
  cache.set(entry, js);
  return js;
}

export const page = (script: string, title = 'bench') =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body><script src="${script}"></script></body>`;
