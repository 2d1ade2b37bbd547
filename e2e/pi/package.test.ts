/**
 * The chatixia-sidecar package as a Pi owner gets it: plain JavaScript with a shebang, the two
 * WebRTC stacks as its only dependencies, and a systemd unit that `systemd-analyze verify` accepts
 * (and that the same check would reject if it were broken).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSidecarPackage, SYSTEMD_UNIT } from '../../scripts/build-sidecar.ts';
import { tempDir } from '../../sidecar-node/test-support.ts';

let dir: string;
let files: string[];

before(async () => {
  const r = await buildSidecarPackage({ pack: true });
  dir = r.dir;
  files = execFileSync('tar', ['tzf', r.tarball!], { encoding: 'utf8' }).trim().split('\n');
  // systemd-analyze comes with Debian's systemd package; a minimal image may lack it.
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'systemd'], { stdio: 'ignore', env });
  }
});

test('the package holds bundled JavaScript, the unit and a README; it depends on the two WebRTC stacks only', () => {
  assert.ok(files.includes('package/bin/chatixia-sidecar.mjs'));
  assert.ok(files.includes(`package/systemd/${SYSTEMD_UNIT}`));
  assert.ok(files.includes('package/README.md'));
  assert.deepEqual(
    files.filter((f) => /\.tsx?$/.test(f)),
    [],
    'no TypeScript in the package',
  );
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies?: unknown;
  };
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['node-datachannel', 'werift']);
  assert.equal(pkg.devDependencies, undefined);
  assert.equal(pkg.bin['chatixia-sidecar'], 'bin/chatixia-sidecar.mjs');
  const entry = readFileSync(join(dir, 'bin', 'chatixia-sidecar.mjs'), 'utf8');
  assert.ok(entry.startsWith('#!/usr/bin/env node\n'));
  assert.doesNotMatch(
    readdirSync(join(dir, 'bin'))
      .map((f) => readFileSync(join(dir, 'bin', f), 'utf8'))
      .join('\n'),
    /from ['"]tsx/,
  );
  // Runs with plain node (no loader): --help, and a readable error with exit 2 for a bad option.
  const help = spawnSync(process.execPath, [join(dir, 'bin', 'chatixia-sidecar.mjs'), '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /chatixia-sidecar pair <code>/);
  assert.match(help.stdout, /WEBRTC_STACK/);
  const bad = spawnSync(process.execPath, [join(dir, 'bin', 'chatixia-sidecar.mjs')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, API_KEY: 'k', WEBRTC_STACK: 'libwebrtc' },
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /WEBRTC_STACK must be node-datachannel or werift/);
});

test('systemd-analyze verify accepts the shipped unit and rejects a broken copy', () => {
  const units = tempDir('chatixia-unit-');
  const unit = join(units, SYSTEMD_UNIT);
  copyFileSync(join(dir, 'systemd', SYSTEMD_UNIT), unit);
  const ok = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr.trim(), '', 'no warnings');
  const text = readFileSync(unit, 'utf8');
  assert.match(text, /^RestartPreventExitStatus=.*\b77\b/m, 'a revoked device (exit 77) is not restarted');
  assert.match(text, /^ExecStart=\/usr\/bin\/env chatixia-sidecar$/m);

  writeFileSync(unit, text.replace('RestartSec=5', 'RestartSecs=5').replace('ExecStart=/usr/bin/env', 'ExecStart=/nonexistent/env'));
  const bad = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Unknown key 'RestartSecs'/);
  assert.match(bad.stderr, /\/nonexistent\/env/);
});
