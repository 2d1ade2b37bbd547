#!/usr/bin/env node
// Runs every *.test.ts under the source folders with Node's own test runner.
// Node 20's --test takes no globs, so the file list is collected here.
// `npm test -- server` runs only files whose path contains "server".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['mesh', 'server', 'sidecar-node', 'web', 'e2e'];
const filters = process.argv.slice(2);

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = roots.flatMap((r) => walk(r, [])).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const res = spawnSync(process.execPath,
  // --test-force-exit: a file whose tests are done must not hang the run on a stray handle
  // (node-datachannel can keep a process alive after a failed handshake); --test-timeout turns a
  // hung test into a failure instead of a stuck CI job.
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1',
    '--test-force-exit', '--test-timeout=600000', ...files],
  { stdio: 'inherit' });
process.exit(res.status ?? 1);
