import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { ROUTES } from '../../mesh/protocol/routes.ts';
import type { SkillPolicy } from '../../mesh/protocol/index.ts';
import { parseSkillPolicy } from '../../mesh/identity/acl.ts';
import type { AppEnv } from '../http/context.ts';
import type { RegistryState } from '../state.ts';
import { readJson } from '../http/body.ts';
import { badRequest } from '../http/errors.ts';
import { requireAdmin, requireAuth } from '../http/auth.ts';

const META_KEY = 'skill_policy';

/** Loads the stored policy, or SKILL_POLICY_FILE the first time; default: everyone may call everything. */
export async function loadSkillPolicy(reg: RegistryState): Promise<void> {
  const rows = await reg.db.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [META_KEY]);
  if (rows[0]) {
    reg.skillPolicy = parseSkillPolicy(JSON.parse(rows[0].value));
    return;
  }
  const file = process.env.SKILL_POLICY_FILE;
  if (file) reg.skillPolicy = parseSkillPolicy(JSON.parse(readFileSync(file, 'utf8')));
}

/** GET /api/policy (any token), PUT /api/policy (admin, audited, pushed as a `policy` event). */
export function policyRoutes(reg: RegistryState) {
  const app = new Hono<AppEnv>();
  app.get(ROUTES.policy.path, requireAuth(reg), (c) => c.json(reg.skillPolicy));
  app.put(ROUTES.setPolicy.path, requireAdmin(reg), async (c) => {
    const raw = await readJson(c, ROUTES.setPolicy.body);
    let policy: SkillPolicy;
    try {
      policy = parseSkillPolicy(raw);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    await reg.db.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [
      META_KEY,
      JSON.stringify(policy),
    ]);
    reg.skillPolicy = policy;
    await reg.record(c.get('principal').peerId, 'policy.update', 'skills', { default: policy.default, rules: policy.rules.length });
    reg.bus.publish({ type: 'policy', data: policy });
    return c.json(policy);
  });
  return app;
}
