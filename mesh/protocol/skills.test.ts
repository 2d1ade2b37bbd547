import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCapabilities, ArgsSchema, SKILL_LIMITS, check, decodeAgentCommand } from './index.ts';
import { UPPER_ARGS_SCHEMA, UPPER_SPEC } from '../test-support/upper-skill.ts';

// With a description inside the schema too: kept as sent.
const UPPER = { ...UPPER_SPEC, args_schema: { ...UPPER_ARGS_SCHEMA, properties: { text: { type: 'string', description: 'what to upper-case' } } } };

test('skill specs: register_agent takes names and {name, description, args_schema}; extra fields are dropped', () => {
  const d = decodeAgentCommand({
    type: 'register_agent',
    payload: { name: 'up', skills: ['plain', { ...UPPER, colour: 'red' }] },
  });
  assert.ok(d.ok, JSON.stringify(d));
  assert.equal(d.value.type, 'register_agent');
  if (d.value.type !== 'register_agent') return;
  assert.deepEqual(d.value.payload.skills, ['plain', UPPER]);
});

test('skill specs: bad schemas are refused with a readable message and a path', () => {
  const reason = (skills: unknown[]) => {
    const d = decodeAgentCommand({ type: 'register_agent', payload: { name: 'a', skills } });
    return d.ok ? 'ok' : d.error.message;
  };
  assert.match(reason([{ name: 's', args_schema: { type: 'string' } }]), /must describe an object/);
  assert.match(reason([{ name: 's', args_schema: { type: 'object', properties: [] } }]), /properties must map/);
  assert.match(reason([{ name: 's', args_schema: { type: 'object', required: 'text' } }]), /required must be a list/);
  assert.match(reason([{ name: 's', description: 'x'.repeat(SKILL_LIMITS.descriptionChars + 1) }]), /description/);
  const huge = { type: 'object', description: 'x'.repeat(SKILL_LIMITS.schemaChars) };
  assert.match(reason([{ name: 's', args_schema: huge }]), /characters as JSON; the limit is 16384/);
  let deep: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 20; i++) deep = { type: 'object', properties: { x: deep } };
  assert.match(reason([{ name: 's', args_schema: deep }]), /nested deeper than 16/);
  assert.match(reason([{ name: 'bad name', description: 'x' }]), /only letters/);
  // 256 skills of 2 KiB each: every one valid, together over the 256 KiB an agent may announce.
  const many = Array.from({ length: 200 }, (_, i) => ({
    name: `s${i}`,
    description: 'd'.repeat(1000),
    args_schema: { type: 'object', description: 'x'.repeat(1000) },
  }));
  assert.match(reason(many), /262144 characters as JSON/);
});

test('skill specs: the registry record keeps them beside capabilities.skills, names must match', () => {
  const ok = check(AgentCapabilities, { skills: ['upper', 'spell'], skill_specs: [UPPER] });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value.skills, ['upper', 'spell']);
  const stray = check(AgentCapabilities, { skills: ['upper'], skill_specs: [{ name: 'other' }] });
  assert.ok(!stray.ok && /"other" is not in capabilities.skills/.test(stray.error.message) && stray.error.message.startsWith('skill_specs.0.name'));
  const twice = check(AgentCapabilities, { skills: ['a'], skill_specs: [{ name: 'a' }, { name: 'a' }] });
  assert.ok(!twice.ok && /listed twice/.test(twice.error.message));
  // The Rust/Python agents send no specs: still valid.
  assert.ok(check(AgentCapabilities, { skills: ['x'] }).ok);
  assert.ok(check(ArgsSchema, { type: 'object' }).ok);
});
