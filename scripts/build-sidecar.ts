/**
 * Builds the `chatixia-sidecar` npm package in dist-sidecar/chatixia-sidecar: the sidecar bundled with
 * esbuild into plain JavaScript (no TypeScript, no tsx at run time), the systemd unit, and a
 * package.json whose only dependencies are the two WebRTC stacks (node-datachannel brings its
 * native binary per platform through npm's optional dependencies; werift is plain JavaScript).
 *
 *   npm run build:sidecar              build the package folder (dist-sidecar/chatixia-sidecar)
 *   npm run build:sidecar -- --pack    and `npm pack` it: prints the path of the .tgz
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Beside the web app's dist/ (vite empties that folder on each build). */
export const SIDECAR_DIST = join(ROOT, 'dist-sidecar');
export const SIDECAR_PKG_DIR = join(SIDECAR_DIST, 'chatixia-sidecar');
export const SYSTEMD_UNIT = 'chatixia-sidecar.service';

/** Loaded at run time from node_modules: a native binary, and werift's many CommonJS files. */
const RUNTIME_DEPENDENCIES = ['node-datachannel', 'werift'] as const;

export async function buildSidecarPackage(opts: { pack?: boolean } = {}): Promise<{ dir: string; tarball?: string }> {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
    dependencies: Record<string, string>;
  };
  const out = SIDECAR_PKG_DIR;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'systemd'), { recursive: true });
  await build({
    entryPoints: { 'chatixia-sidecar': join(ROOT, 'sidecar-node', 'main.ts') },
    outdir: join(out, 'bin'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Chunks keep main.ts's order: the IPC socket listens before WebRTC and the mesh core load.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...RUNTIME_DEPENDENCIES, 'bufferutil', 'utf-8-validate'],
    // Bundled CommonJS (ws and others) calls require(): give the ES module one.
    banner: { js: "import { createRequire as __cxCreateRequire } from 'node:module'; const require = __cxCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The entry point gets the shebang (esbuild keeps the banner first, so prepend it here).
  const entry = join(out, 'bin', 'chatixia-sidecar.mjs');
  writeFileSync(entry, '#!/usr/bin/env node\n' + readFileSync(entry, 'utf8'));
  chmodSync(entry, 0o755);
  copyFileSync(join(ROOT, 'sidecar-node', 'pkg', SYSTEMD_UNIT), join(out, 'systemd', SYSTEMD_UNIT));
  copyFileSync(join(ROOT, 'docs', 'pi.md'), join(out, 'README.md'));
  const pkg = {
    name: 'chatixia-sidecar',
    version: root.version,
    description: 'Puts a Raspberry Pi or a VM into a chatixia mesh as a WebRTC peer; local agents talk to it over a Unix socket',
    license: root.license,
    type: 'module',
    bin: { 'chatixia-sidecar': 'bin/chatixia-sidecar.mjs' },
    files: ['bin', 'systemd', 'README.md'],
    engines: { node: '>=20' },
    dependencies: Object.fromEntries(RUNTIME_DEPENDENCIES.map((d) => [d, root.dependencies[d]!])),
  };
  writeFileSync(join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  if (!opts.pack) return { dir: out };
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', SIDECAR_DIST], { cwd: out, encoding: 'utf8' }).trim().split('\n').pop()!;
  return { dir: out, tarball: join(SIDECAR_DIST, name) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildSidecarPackage({ pack: process.argv.includes('--pack') });
  console.log(r.tarball ?? r.dir);
}
