import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequest, requestedSkills } from './policy-guard.ts';
import { mayCall, mayProvide, parseSkillPolicy } from './identity/acl.ts';

const policy = parseSkillPolicy({
  rules: [
    { skill: 'upper', peers: ['a'] },
    { skill: 'gpu.*', providers: ['pi'] },
  ],
});
const req = (skill: string, args?: unknown) => ({ type: 'task_request', payload: { skill, args } });

test('requestedSkills unwraps delegate (any depth up to 8) and names agent_prompt', () => {
  assert.deepEqual(requestedSkills(req('upper')), ['upper']);
  assert.deepEqual(requestedSkills(req('delegate', { skill: 'delegate', args: { skill: 'upper' } })), ['delegate', 'delegate', 'upper']);
  assert.deepEqual(requestedSkills({ type: 'agent_prompt', payload: { text: 'x' } }), ['agent_prompt']);
  assert.deepEqual(requestedSkills({ type: 'ping' }), []);
  assert.equal(requestedSkills({ type: 'task_request', payload: { nope: 1 } }), undefined, 'unreadable: refused');
  let deep: unknown = { skill: 'upper' };
  for (let i = 0; i < 10; i++) deep = { skill: 'delegate', args: deep };
  assert.equal(requestedSkills(req('delegate', deep)), undefined);
});

test('checkRequest: every skill the request runs must be allowed to the requester', () => {
  assert.equal(checkRequest(policy, { peer_id: 'a', role: 'agent' }, req('delegate', { skill: 'upper' })).allowed, true);
  const c = checkRequest(policy, { peer_id: 'c', role: 'agent' }, req('delegate', { skill: 'upper' }));
  assert.equal(c.allowed, false);
  assert.match(c.reason, /skill upper is restricted by rule 0/);
  assert.equal(checkRequest(policy, undefined, req('echo')).allowed, false, 'an unknown requester is refused when a policy is held');
  assert.equal(checkRequest(undefined, undefined, req('upper')).allowed, true, 'no policy held yet: allowed, as the registry default');
});

test('providers: who may offer a skill; a providers-only rule does not restrict callers', () => {
  assert.equal(mayProvide(policy, 'pi', 'gpu.render'), true);
  assert.equal(mayProvide(policy, 'laptop', 'gpu.render'), false);
  assert.equal(mayProvide(policy, 'laptop', 'upper'), true);
  assert.equal(mayCall(policy, { caller_peer_id: 'anyone', caller_role: 'agent', skill: 'gpu.render' }).allowed, true);
});
