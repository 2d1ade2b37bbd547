// One process for every pure unit test (what `npm run test:unit` runs under `node --test`):
// starting tsx once instead of once per file is what keeps the run within seconds on a busy
// machine. Each file is imported inside a suite named after it, so its tests are that suite's
// (a file imported later at top level would register its tests after the run began: lost).
// UNIT_TEST_FILTERS (JSON array) narrows the files like `npm test -- <fragment>`.
import { describe } from 'node:test';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { testFiles } from './test-files.mjs';

const filters = JSON.parse(process.env.UNIT_TEST_FILTERS ?? '[]');
for (const f of testFiles({ unit: true, filters })) {
  describe(f, () => import(pathToFileURL(resolve(f)).href));
}
