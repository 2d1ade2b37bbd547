import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInteropConfig } from './interop-config.ts';

const file = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'interop-cfg-')), 'c.yaml');
  writeFileSync(f, text);
  return f;
};

test('a desktop-style mcpServers block, A2A agents and an allow-list read as JSON or YAML', () => {
  const c = readInteropConfig(
    file(
      JSON.stringify({
        mcpServers: {
          files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'] },
          remote: { url: 'https://mcp.example.org/mcp' },
        },
      }),
    ),
  );
  assert.deepEqual(c.mcpServers.files, { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: {} });
  assert.deepEqual(c.mcpServers.remote, { url: 'https://mcp.example.org/mcp', headers: {} });
  const y = readInteropConfig(file('a2aAgents:\n  weather:\n    url: https://weather.example.org\nallowPrivateNetworks: [10.0.0.5]\n'));
  assert.deepEqual(y.a2aAgents.weather, { url: 'https://weather.example.org', headers: {} });
  assert.deepEqual(y.allowPrivateNetworks, ['10.0.0.5']);
});

test('bad configs name the file and the field', () => {
  assert.throws(() => readInteropConfig(file('mcpServers:\n  "bad name":\n    command: x\n')), /c\.yaml is not valid: mcpServers/);
  assert.throws(() => readInteropConfig(file('a2aAgents:\n  w:\n    url: ftp://x\n')), /a2aAgents\.w/);
  assert.throws(() => readInteropConfig(file('mcpServer: {}\n')), /not valid/);
  assert.throws(() => readInteropConfig(file('{ nope')), /neither JSON nor YAML/);
  assert.throws(() => readInteropConfig('/nonexistent/interop.yaml'), /cannot read the interop config/);
});
