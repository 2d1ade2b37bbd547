import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offerAction } from './connection.ts';

const current = (o: Partial<{ connId: string; role: 'offerer' | 'answerer'; opened: boolean }> = {}) => ({
  connId: 'c1',
  role: 'offerer' as const,
  opened: false,
  ...o,
});

test('an offer with the id of the current connection renegotiates it (the remote restarts ICE)', () => {
  assert.equal(offerAction(current({ opened: true }), 'c1', 'a', 'b'), 'renegotiate');
  assert.equal(offerAction(current({ role: 'answerer', opened: true }), 'c1', 'b', 'a'), 'renegotiate');
});

test('glare: while both dial, the lower peer id keeps its own offer and the higher one answers', () => {
  assert.equal(offerAction(current(), 'c2', 'a', 'b'), 'keep_ours');
  assert.equal(offerAction(current(), 'c2', 'b', 'a'), 'answer');
});

test('any other offer is answered with a fresh connection: none yet, an open one, our answerer attempt, a Rust offer without id', () => {
  assert.equal(offerAction(null, 'c2', 'a', 'b'), 'answer');
  assert.equal(offerAction(current({ opened: true }), 'c2', 'a', 'b'), 'answer');
  assert.equal(offerAction(current({ role: 'answerer' }), 'c2', 'a', 'b'), 'answer');
  assert.equal(offerAction(current({ opened: true }), undefined, 'a', 'b'), 'answer');
});
