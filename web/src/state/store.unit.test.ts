// The dashboard's zustand slices, driven through their public actions as components call them.
import test from 'node:test';
import assert from 'node:assert/strict';
import { useStore, pickMirrored, MIRRORED_KEYS } from './store.ts';
import { chatKey } from './chat-slice.ts';
import { setRuntime, type Action } from './actions.ts';

const initial = useStore.getState();
const reset = () => useStore.setState(initial, true);
const s = () => useStore.getState();

test('chat: streamed chunks append to one message, `done` sticks, a replace rewrites it', () => {
  reset();
  const key = chatKey('echo', 'web-1');
  assert.equal(key, 'echo@web-1');
  s().chatAppend(key, 'm1', 'agent', 'Hel', false);
  s().chatAppend(key, 'm1', 'agent', 'lo', true);
  s().chatAppend(key, 'm1', 'agent', '', false);
  assert.deepEqual(
    s().chats[key]!.map((m) => [m.text, m.done]),
    [['Hello', true]],
  );
  s().chatAppend(key, 'm1', 'agent', 'Bye', true, true);
  assert.equal(s().chats[key]![0]!.text, 'Bye');
});

test('chat: a conversation keeps the last 200 messages and cuts one message at 100 000 characters', () => {
  reset();
  const key = chatKey('llm', 'pi');
  for (let i = 0; i < 205; i++) s().chatAppend(key, `m${i}`, 'me', `${i}`, true);
  const list = s().chats[key]!;
  assert.equal(list.length, 200);
  assert.equal(list[0]!.text, '5');
  s().chatAppend(key, 'big', 'agent', 'x'.repeat(150_000), true);
  const big = s().chats[key]!.at(-1)!;
  assert.ok(big.text.length < 100_100 && big.text.includes('cut: the message is longer'));
});

test('chat: a tool call is one line, updated in place until it finishes', () => {
  reset();
  const key = chatKey('llm', 'pi');
  s().chatTool(key, 't1', { skill: 'upper', state: 'running' });
  s().chatTool(key, 't1', { skill: 'upper', state: 'done' });
  const list = s().chats[key]!;
  assert.equal(list.length, 1);
  assert.equal(list[0]!.from, 'tool');
  assert.equal(list[0]!.done, true);
});

test('dispatches: upsert merges by id, newest first, at most 50', () => {
  reset();
  s().upsertDispatch({ id: 'd1', label: 'upper' });
  s().upsertDispatch({ id: 'd1', state: 'completed' });
  assert.deepEqual(
    s().dispatches.map((d) => [d.id, d.label, d.state]),
    [['d1', 'upper', 'completed']],
  );
  for (let i = 2; i <= 60; i++) s().upsertDispatch({ id: `d${i}` });
  assert.equal(s().dispatches.length, 50);
  assert.equal(s().dispatches[0]!.id, 'd60');
});

test('a failed action becomes a notice (never a silent drop); notices keep the last 6', async () => {
  reset();
  const seen: Action[] = [];
  setRuntime({
    do: async (a) => {
      seen.push(a);
      throw new Error('registry said no');
    },
  });
  await s().dispatch({ kind: 'skill', skill: 'upper' }, { text: 'x' });
  await s().stopAgent('a1');
  assert.deepEqual(
    seen.map((a) => a.type),
    ['dispatch', 'stop_agent'],
  );
  assert.deepEqual(
    s().notices.map((n) => n.text),
    ['Task not dispatched: registry said no', 'Could not stop the agent: registry said no'],
  );
  for (let i = 0; i < 10; i++) s().notify('info', `n${i}`);
  assert.equal(s().notices.length, 6);
  s().dismiss(s().notices[0]!.id);
  assert.equal(s().notices.length, 5);
});

test('login: the credential is trimmed; a refusal signs out with the reason', async () => {
  reset();
  let sent = '';
  setRuntime({
    do: async (a) => {
      if (a.type === 'login') sent = a.credential;
      throw new Error('The registry refused this key');
    },
  });
  const pending = s().login('  key-1  ');
  assert.equal(s().session.phase, 'signing_in');
  await pending;
  assert.equal(sent, 'key-1');
  assert.deepEqual(s().session, { phase: 'signed_out', error: 'The registry refused this key' });
});

test('what the leader mirrors to other tabs is data only: no actions, no per-tab state', () => {
  reset();
  const m = pickMirrored(s());
  assert.deepEqual(Object.keys(m).sort(), [...MIRRORED_KEYS].sort());
  assert.ok(Object.values(m).every((v) => typeof v !== 'function'));
  assert.ok(!('tab' in m));
});
