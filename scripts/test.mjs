#!/usr/bin/env node
// Runs the tests with Node's own test runner (Node 20's --test takes no globs: see test-files.mjs).
//
//   npm test                  every *.test.ts / *.test.tsx: the whole suite; it first sets up what
//                             it needs (root, Chromium, coturn, PostgreSQL, Redis: test-setup.mjs)
//   npm test -- server        only the files whose path contains "server"
//   npm run test:unit         only the pure unit tests, *.unit.test.ts(x): no network, browser,
//                             database or root, and the whole run fails after 30 s. Name a test
//                             file so when it needs nothing but Node and the code it tests.
import { spawnSync } from 'node:child_process';
import { testFiles } from './test-files.mjs';
import { setUpTestMachine } from './test-setup.mjs';

const args = process.argv.slice(2);
const unit = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
if (testFiles({ unit, filters }).length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
if (!unit) {
  const missing = await setUpTestMachine();
  if (missing.length > 0) {
    console.error('npm test cannot run here yet; it needs:');
    for (const m of missing) console.error(`  ${m.what}: ${m.fix}`);
    console.error('(npm run test:unit needs none of these)');
    process.exit(1);
  }
}
const common = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-force-exit'];
const res = unit
  ? spawnSync(process.execPath, [...common, '--test-timeout=30000', 'scripts/unit-tests.mjs'], {
      stdio: 'inherit',
      env: { ...process.env, UNIT_TEST_FILTERS: JSON.stringify(filters) },
    })
  : spawnSync(
      process.execPath,
      // One file at a time (real registries, sidecars and browsers would fight over 2 cores); a
      // hung test fails after 10 minutes instead of stalling CI; --test-force-exit: a file whose
      // tests are done must not hang the run on a stray handle (node-datachannel can keep a
      // process alive after a failed handshake).
      [...common, '--test-concurrency=1', '--test-timeout=600000', ...testFiles({ unit, filters })],
      { stdio: 'inherit' },
    );
process.exit(res.status ?? 1);
