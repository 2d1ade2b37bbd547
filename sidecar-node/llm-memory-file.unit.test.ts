/** The Pi's memory file: 0600, written whole, read back by a restarted agent; a broken file is kept aside. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatMemory } from '../mesh/llm/memory.ts';
import { fileMemoryStore, memoryFileFor } from './llm-memory-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'llm-memory-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the file beside agent.yaml is agent.memory.json', () => {
  assert.equal(memoryFileFor('/etc/chatixia/agent.yaml'), '/etc/chatixia/agent.memory.json');
  assert.equal(memoryFileFor('bot.json'), 'bot.memory.json');
});

test('a restarted agent reads back what the last one saved; the file is 0600 even if it was not', async () => {
  const path = join(dir, 'a.memory.json');
  const m1 = new ChatMemory(40, 10, fileMemoryStore(path));
  await m1.load();
  m1.commit('peer/agent/s', [
    { role: 'user', content: 'remember me' },
    { role: 'assistant', content: 'I will' },
  ]);
  await m1.flush();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  chmodSync(path, 0o644);
  const m2 = new ChatMemory(40, 10, fileMemoryStore(path));
  await m2.load();
  assert.deepEqual(m2.get('peer/agent/s'), [
    { role: 'user', content: 'remember me' },
    { role: 'assistant', content: 'I will' },
  ]);
  assert.equal(statSync(path).mode & 0o777, 0o600, 'made owner-only on reading');
});

test('a file that is not JSON is moved aside with a warning, never overwritten', async () => {
  const path = join(dir, 'b.memory.json');
  writeFileSync(path, '{"version":1,"chats":[[', { mode: 0o600 });
  const warnings: string[] = [];
  const m = new ChatMemory(40, 10, fileMemoryStore(path), (w) => warnings.push(w));
  await m.load();
  assert.match(warnings[0] ?? '', /is not JSON .*moved it to .*b\.memory\.json\.unreadable/);
  assert.equal(readFileSync(`${path}.unreadable`, 'utf8'), '{"version":1,"chats":[[');
  assert.ok(!existsSync(path));
  m.commit('c', [{ role: 'user', content: 'hi' }]);
  await m.flush();
  assert.ok(existsSync(path));
});
