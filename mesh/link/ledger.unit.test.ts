import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundLedger, OutboundLedger, type Confirm } from './ledger.ts';
import { LinkError } from './link-error.ts';

function confirmation(): { confirm: Confirm; result: Promise<string> } {
  let confirm!: Confirm;
  const result = new Promise<string>((resolve, reject) => {
    confirm = { resolve: () => resolve('peer'), reject, sent: () => resolve('sent') };
  });
  return { confirm, result };
}

test('outbound: messages are numbered from 1; an ack removes everything up to its number and confirms it', async () => {
  const l = new OutboundLedger();
  assert.equal(l.firstSeq, 1);
  const c = confirmation();
  const a = l.track('a');
  const b = l.track('bb', c.confirm);
  l.track('ccc');
  assert.deepEqual([a.seq, b.seq], [1, 2]);
  assert.deepEqual(l.unacked(), ['a', 'bb', 'ccc']);
  assert.equal(l.unackedBytes, 6);
  l.ack(2);
  assert.equal(await c.result, 'peer');
  assert.deepEqual(l.unacked(), ['ccc']);
  assert.equal(l.firstSeq, 3, 'a resume frame announces the oldest unacknowledged message');
  l.ack(3);
  assert.equal(l.firstSeq, 4, '…or the next new one when everything is acknowledged');
  assert.equal(l.unackedBytes, 0);
  l.ack(2);
  assert.equal(l.unacked().length, 0, 'an old ack changes nothing');
});

test('outbound: unacknowledged bytes are bounded, but one message of any size may be outstanding alone', () => {
  const l = new OutboundLedger(10);
  assert.ok(l.hasRoom(100), 'nothing outstanding: any size fits');
  l.track('123456');
  assert.ok(l.hasRoom(4));
  assert.ok(!l.hasRoom(5));
  l.ack(1);
  assert.ok(l.hasRoom(5));
});

test('outbound: waitForAck wakes at the next ack, or after its timeout at the latest', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const l = new OutboundLedger();
  l.track('x');
  let woke = false;
  const w = l.waitForAck(500).then(() => (woke = true));
  t.mock.timers.tick(100);
  await Promise.resolve();
  assert.equal(woke, false);
  l.ack(1);
  await w;
  const late = l.waitForAck(500);
  t.mock.timers.tick(500);
  await late;
});

test('outbound: untrack forgets a message that never fully reached the channel', () => {
  const l = new OutboundLedger();
  const a = l.track('a');
  l.track('b');
  l.untrack(a);
  assert.deepEqual(l.unacked(), ['b']);
  assert.equal(l.unackedBytes, 1);
  l.untrack(a);
  assert.equal(l.unackedBytes, 1, 'twice is harmless');
});

test('outbound: giving up returns the unconfirmed texts and rejects the confirmed ones with link_lost', async () => {
  const l = new OutboundLedger();
  const c = confirmation();
  l.track('plain');
  l.track('confirmed', c.confirm);
  assert.deepEqual(l.giveUp('peer left'), ['plain']);
  await assert.rejects(c.result, (e: unknown) => e instanceof LinkError && e.code === 'link_lost' && e.message === 'peer left');
  assert.deepEqual(l.unacked(), []);
  assert.equal(l.firstSeq, 3, 'numbering goes on');
});

test('inbound: before any resume frame messages are unnumbered; after it, resent ones are dropped', () => {
  const l = new InboundLedger();
  assert.equal(l.accept(), 'unnumbered');
  l.resume(1, '7.7');
  assert.equal(l.delivered, 0);
  assert.deepEqual([l.accept(), l.accept(), l.accept()], ['new', 'new', 'new']);
  assert.equal(l.delivered, 3);
  // A new connection of the same sender resends from 2: 2 and 3 are duplicates, 4 is new.
  l.resume(2, '7.7');
  assert.deepEqual([l.accept(), l.accept(), l.accept()], ['duplicate', 'duplicate', 'new']);
  assert.equal(l.delivered, 4);
});

test('inbound: a new session (the sender restarted) starts its numbering afresh', () => {
  const l = new InboundLedger();
  l.resume(1, '1.1');
  l.accept();
  l.accept();
  l.resume(1, '2.2');
  assert.equal(l.delivered, 0);
  assert.equal(l.accept(), 'new');
});
