import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mayCall, parseSkillPolicy } from './acl.ts';

test('the default policy lets every paired device call every skill', () => {
  const d = mayCall({}, { caller_peer_id: 'web-1', caller_role: 'agent', skill: 'shell.exec' });
  assert.equal(d.allowed, true);
});

test('rules restrict a skill to listed peers or roles; the first matching rule decides', () => {
  const policy = parseSkillPolicy({
    rules: [
      { skill: 'shell.exec', peers: ['pi-lab'] },
      { skill: 'shell.*', roles: ['admin'] },
      { skill: 'camera', peers: [], roles: [] },
    ],
  });
  const call = (caller_peer_id: string, caller_role: string, skill: string) => mayCall(policy, { caller_peer_id, caller_role, skill }).allowed;
  assert.equal(call('pi-lab', 'agent', 'shell.exec'), true);
  assert.equal(call('web-admin', 'admin', 'shell.exec'), false, 'rule 0 decides before the admin rule');
  assert.equal(call('web-admin', 'admin', 'shell.ls'), true);
  assert.equal(call('web-1', 'agent', 'shell.ls'), false);
  assert.equal(call('web-admin', 'admin', 'camera'), false, 'an empty rule closes a skill for everyone');
  assert.equal(call('web-1', 'agent', 'weather'), true);
  assert.match(mayCall(policy, { caller_peer_id: 'web-1', caller_role: 'agent', skill: 'shell.ls' }).reason, /rule 1 \(shell\.\*\)/);
});

test('default deny with an allow list per skill', () => {
  const policy = {
    default: 'deny' as const,
    rules: [
      { skill: '*', roles: ['admin'] },
      { skill: 'echo', peers: ['web-1'] },
    ],
  };
  assert.equal(mayCall(policy, { caller_peer_id: 'x', caller_role: 'admin', skill: 'anything' }).allowed, true);
  assert.equal(mayCall(policy, { caller_peer_id: 'web-1', caller_role: 'agent', skill: 'echo' }).allowed, false, '* matched first');
  assert.equal(mayCall({ default: 'deny' }, { caller_peer_id: 'web-1', caller_role: 'agent', skill: 'echo' }).allowed, false);
});

test('an invalid policy is refused with a readable error', () => {
  assert.throws(() => parseSkillPolicy({ default: 'maybe' }), /invalid skill policy at default/);
  assert.throws(() => parseSkillPolicy({ rules: [{ skill: 'a*b' }] }), /rules\.0\.skill/);
});
