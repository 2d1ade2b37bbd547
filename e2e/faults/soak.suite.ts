// `npm run test:faults` runs this with the quick fault tests: the soak (see soak.ts). Not a
// *.test.ts file, so `npm test` does not run it. SOAK_S (600), SOAK_PEERS (10, of which
// SOAK_BROWSERS, 3, are Chromium tabs), SOAK_RATE (messages/s per peer, 10), SOAK_CHAOS_S (mean
// seconds between faults, 20), SOAK_SEED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runSoak } from './soak.ts';

const RESULT = fileURLToPath(new URL('../results/soak.json', import.meta.url));
const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);

test('soak: messages under link cuts, partitions, registry restarts and sidecar kills — none lost, memory flat', { timeout: 3 * 3600_000 }, async () => {
  const durationS = num('SOAK_S', 600);
  const result = await runSoak({
    durationS,
    peers: num('SOAK_PEERS', 10),
    browsers: num('SOAK_BROWSERS', 3),
    rate: num('SOAK_RATE', 10),
    chaosEveryS: num('SOAK_CHAOS_S', 20),
    seed: num('SOAK_SEED', Date.now() % 100000),
    log: (l) => console.log(`[soak] ${l}`),
  });
  const out = { ...result, ...(durationS < 600 && { shortened: `ran ${durationS} s instead of the 600 s the issue asks for` }) };
  mkdirSync(fileURLToPath(new URL('../results/', import.meta.url)), { recursive: true });
  writeFileSync(RESULT, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
  assert.equal(result.lost, 0, `${result.lost} messages lost silently: ${JSON.stringify(result.lost_breakdown)}`);
  // Delivery is at-least-once across a receiver crash (it died after delivering, before its
  // acknowledgement reached the sender, which then resent to the restarted receiver). Any other
  // duplicate is a bug.
  const unexplained = result.duplicate_details.filter((d) => !d.target_killed_s.some((k) => Math.abs(k - d.delivered_s[0]!) <= 3));
  assert.deepEqual(unexplained, [], 'messages delivered twice without a receiver crash');
  for (const [name, m] of Object.entries(result.memory)) {
    if (m.restarts || name === 'driver') continue;
    assert.ok(m.end_mb <= m.start_mb * 1.5 + 64, `${name} memory grew from ${m.start_mb} to ${m.end_mb} MiB`);
  }
});
