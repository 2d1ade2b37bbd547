import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, pathLabel } from './graph.ts';
import { targetName } from '../../../mesh/agent-records.ts';

test('topology graph: our own live links replace what the registry last heard about us', () => {
  const g = buildGraph({
    self: 'web-a',
    registryPeers: [
      { peer_id: 'sc-1', health: 'active' },
      { peer_id: 'sc-2', health: 'offline' },
    ],
    signalingPeers: ['web-b'],
    agents: [{ agent_id: 'x@sc-1', peer_id: 'sc-1', hostname: 'pi', health: 'active', skills: [] }],
    edges: [
      { from: 'web-a', to: 'sc-2', path: 'host' }, // stale report about our own link: dropped
      { from: 'sc-1', to: 'web-b', path: 'relay', rtt_ms: 40 },
    ],
    links: { 'sc-1': { peer_id: 'sc-1', state: 'open', path: 'srflx', rtt_ms: 3 }, 'sc-2': { peer_id: 'sc-2', state: 'connecting', path: 'unknown' } },
  });
  assert.deepEqual(
    g.nodes.map((n) => [n.id, n.health, n.self]),
    [
      ['web-a', 'active', true],
      ['sc-1', 'active', false],
      ['sc-2', 'offline', false],
      ['web-b', 'active', false],
    ],
  );
  // web-b is active but has no DataChannel to us: reached over HTTP (the registry's task queue)
  assert.deepEqual(g.edges.map((e) => [e.a, e.b, e.path, e.mine]).sort(), [
    ['sc-1', 'web-b', 'relay', false],
    ['web-a', 'sc-1', 'srflx', true],
    ['web-a', 'web-b', 'http', true],
  ]);
  assert.equal(g.nodes.find((n) => n.id === 'sc-1')!.agents.length, 1);
});

test('edge labels name the path and round-trip time', () => {
  assert.equal(pathLabel('host', 0.04), 'host · <0.1 ms');
  assert.equal(pathLabel('relay', 42.4), 'relay · 42 ms');
  assert.equal(pathLabel('http'), 'HTTP fallback');
  assert.equal(pathLabel('srflx', 3.25, true), 'srflx 3.3ms');
});

test('registry records map to the agent name a message targets', () => {
  assert.equal(targetName('echo@web-a', 'web-a'), 'echo');
  assert.equal(targetName('web-a', 'web-a'), undefined);
  assert.equal(targetName('thermo', 'legacy-box'), 'thermo');
});
