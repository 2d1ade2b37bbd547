// The test files of the repository: every *.test.ts / *.test.tsx under the source folders, or only
// the pure unit tests (*.unit.test.ts / *.unit.test.tsx), optionally only paths containing a filter.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['mesh', 'server', 'sidecar-node', 'web', 'e2e'];

export function testFiles({ unit = false, filters = [] } = {}) {
  const pattern = unit ? /\.unit\.test\.tsx?$/ : /\.test\.tsx?$/;
  const walk = (dir, out) => {
    let names;
    try {
      names = readdirSync(dir);
    } catch {
      return out;
    }
    for (const name of names) {
      if (name === 'node_modules' || name === 'dist') continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, out);
      else if (pattern.test(name)) out.push(p);
    }
    return out;
  };
  return ROOTS.flatMap((r) => walk(r, []))
    .sort()
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
}
