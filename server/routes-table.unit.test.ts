// The REST table (mesh/protocol/routes.ts) that RegistryClient builds its requests from: every
// entry must be a route the registry really mounts, with the same method and path.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ROUTES, routePath } from '../mesh/protocol/routes.ts';
import { buildApp } from './app.ts';
import { RegistryState } from './state.ts';
import { loadConfig } from './config.ts';
import { TokenSigner } from './auth/tokens.ts';
import type { Db } from './storage/db.ts';

test('every route of the shared table is mounted by the registry with its method and path', () => {
  // Building the app only mounts handlers: no store is queried, so no database is opened.
  const reg = new RegistryState(loadConfig({}), {} as Db, new TokenSigner(new Uint8Array(32), 60), 'admin-key-for-the-test', new Map());
  const mounted = new Set(
    buildApp(reg)
      .routes.filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`),
  );
  const missing = Object.entries(ROUTES)
    .filter(([, r]) => !mounted.has(`${r.method} ${r.path}`))
    .map(([name, r]) => `${name}: ${r.method} ${r.path}`);
  assert.deepEqual(missing, []);
});

test('path parameters are filled in and URL-encoded', () => {
  assert.equal(routePath('getAgent', { id: 'upper@pi 1' }), '/api/registry/agents/upper%40pi%201');
  assert.equal(routePath('deleteKey', { peer_id: 'a/b' }), '/api/keys/a%2Fb');
  assert.equal(routePath('listAgents', {}), '/api/registry/agents');
});
