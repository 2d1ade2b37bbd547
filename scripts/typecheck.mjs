#!/usr/bin/env node
// Type-checks each folder with its own environment, two at a time (the machine has 2 cores):
//   mesh/          the isomorphic core: web-standard APIs only, no Node types
//   web/           the tab: DOM, no Node types
//   server/, sidecar-node/   Node (plus the WebCrypto/WebRTC types the core they run needs)
//   tsconfig.json  tests, e2e, scripts: everything
// Node globals can still reach mesh/ and web/ through a dependency's typings (@types/qrcode and
// undici-types reference Node's), so `npm run lint` forbids node: imports and Node globals there.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const projects = ['mesh', 'web', 'server', 'sidecar-node', '.'];

function check(dir) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '--noEmit', '-p', `${dir}/tsconfig.json`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const name = dir === '.' ? 'tests, e2e, scripts' : `${dir}/`;
      console.log(`typecheck ${name}: ${code === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      if (code !== 0) process.stdout.write(out);
      resolve(code === 0);
    });
  });
}

const queue = [...projects];
let ok = true;
await Promise.all(
  [0, 1].map(async () => {
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) ok = (await check(dir)) && ok;
  }),
);
process.exit(ok ? 0 : 1);
