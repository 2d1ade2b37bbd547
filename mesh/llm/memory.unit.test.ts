/** ChatMemory with a store: what a reload or a restart reads back, and the bounds on what is kept. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatMemory, MEMORY_MAX_CHARS, type MemorySnapshot, type MemoryStore } from './memory.ts';
import type { ChatMessage } from './provider.ts';

/** A store that keeps the snapshot as a structured clone, as IndexedDB does. */
function cloneStore(): MemoryStore & { saved: unknown; saves: number } {
  const s = {
    saved: undefined as unknown,
    saves: 0,
    load: async () => structuredClone(s.saved),
    save: async (snap: MemorySnapshot) => {
      s.saves++;
      s.saved = structuredClone(snap);
    },
  };
  return s;
}

const exchange = (q: string): ChatMessage[] => [
  { role: 'user', content: q },
  { role: 'assistant', content: null, tool_calls: [{ id: `c-${q}`, type: 'function', function: { name: 'upper', arguments: `{"text":"${q}"}` } }] },
  { role: 'tool', tool_call_id: `c-${q}`, content: JSON.stringify(q.toUpperCase()) },
  { role: 'assistant', content: `said ${q.toUpperCase()}` },
];

test('a new ChatMemory over the same store (a reload, a restart) has every chat as it was, in the same order of use', async () => {
  const store = cloneStore();
  const m1 = new ChatMemory(40, 10, store);
  await m1.load();
  m1.commit('a', exchange('one'));
  m1.commit('b', exchange('two'));
  m1.commit('a', exchange('three'));
  await m1.flush();
  assert.equal(store.saves, 3, 'saved after every exchange');

  const m2 = new ChatMemory(40, 2, store);
  await m2.load();
  assert.deepEqual(m2.get('a'), [...exchange('one'), ...exchange('three')]);
  assert.deepEqual(m2.get('b'), exchange('two'));
  // 'b' is the least recently used: a third chat pushes it out.
  m2.commit('c', exchange('four'));
  assert.deepEqual(m2.get('b'), []);
  assert.equal(m2.size, 2);
});

test('bounds hold on what is read back: fewer messages per chat, starting at a user message', async () => {
  const store = cloneStore();
  const m1 = new ChatMemory(40, 10, store);
  m1.commit('a', [...exchange('one'), ...exchange('two')]);
  await m1.flush();
  const m2 = new ChatMemory(5, 10, store);
  await m2.load();
  assert.deepEqual(m2.get('a'), exchange('two'));
});

test('a saved snapshot that does not check out is reported and ignored; the agent starts empty and saves again', async () => {
  const warnings: string[] = [];
  for (const bad of [{ version: 2, chats: [] }, { version: 1, chats: [['a', [{ role: 'system', content: 'injected' }]]] }, 'not an object']) {
    const store = cloneStore();
    store.saved = bad;
    const m = new ChatMemory(40, 10, store, (w) => warnings.push(w));
    await m.load();
    assert.equal(m.size, 0);
    m.commit('a', exchange('one'));
    await m.flush();
    assert.deepEqual((store.saved as MemorySnapshot).chats, [['a', exchange('one')]]);
  }
  assert.equal(warnings.length, 3);
  assert.match(warnings[0]!, /the saved conversations are not readable \(version: .*\); starting without them/);
});

test('a store that fails is reported, and the conversation goes on in memory', async () => {
  const warnings: string[] = [];
  const m = new ChatMemory(40, 10, { load: () => Promise.reject(new Error('disk gone')), save: () => Promise.reject(new Error('read-only')) }, (w) =>
    warnings.push(w),
  );
  await m.load();
  m.commit('a', exchange('one'));
  await m.flush();
  assert.deepEqual(m.get('a'), exchange('one'));
  assert.deepEqual(warnings, ['could not read the saved conversations: disk gone', 'could not save the conversations: read-only']);
});

test(`what is saved stays under ${MEMORY_MAX_CHARS / 1024 / 1024} MiB: the least recently used chats are left out`, async () => {
  const store = cloneStore();
  const m = new ChatMemory(40, 100, store);
  const big = 'x'.repeat(MEMORY_MAX_CHARS / 8);
  for (let i = 0; i < 10; i++)
    m.commit(`chat-${i}`, [
      { role: 'user', content: big },
      { role: 'assistant', content: 'ok' },
    ]);
  await m.flush();
  const saved = store.saved as MemorySnapshot;
  assert.ok(JSON.stringify(saved).length <= MEMORY_MAX_CHARS + 100);
  assert.deepEqual(
    saved.chats.map(([c]) => c),
    ['chat-3', 'chat-4', 'chat-5', 'chat-6', 'chat-7', 'chat-8', 'chat-9'],
  );
  assert.equal(m.size, 10, 'memory itself keeps them (bounded by max_chats)');
});

test('max_messages 0: nothing is kept or saved', async () => {
  const store = cloneStore();
  const m = new ChatMemory(0, 10, store);
  m.commit('a', exchange('one'));
  await m.flush();
  assert.equal(store.saves, 0);
  assert.deepEqual(m.get('a'), []);
});
