/** The tests' streaming skill: `count` streams `1 `…`n ` as pieces, then answers "done". */
import type { SkillDefinition } from '../agent/client.ts';

export function countSkill(): SkillDefinition {
  return {
    description: 'Streams the numbers 1..n, then answers "done"',
    args_schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    handler: async (a: { n: number }, call) => {
      for (let i = 1; i <= a.n; i++) call.stream(`${i} `);
      return 'done';
    },
  };
}
