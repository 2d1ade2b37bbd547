import { SkillPolicySchema, type SkillPolicy, type SkillPolicyInput } from '../protocol/identity.ts';

/**
 * Skill ACL, enforced by the receiving peer and by the registry task queue. The caller's peer id
 * and role come from its verified device certificate (or its token), never from the message.
 * The default policy (`{}`) lets every paired device call every skill.
 */

/** Who asks to run which skill, as the policy sees it. */
export interface SkillCallRequest {
  caller_peer_id: string;
  caller_role: string;
  skill: string;
}

export type AclDecision = { allowed: true; reason: string } | { allowed: false; reason: string };

/** Validates a policy document (e.g. one an admin uploads); throws a readable error if it is bad. */
export function parseSkillPolicy(input: unknown): SkillPolicy {
  const res = SkillPolicySchema.safeParse(input ?? {});
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new Error(`invalid skill policy at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return res.data;
}

export function skillMatches(pattern: string, skill: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return skill.startsWith(pattern.slice(0, -1));
  return pattern === skill;
}

/** A rule that only says who may offer a skill (no `peers`, no `roles`) does not restrict callers. */
const onlyProviders = (rule: SkillPolicy['rules'][number]) => rule.providers !== undefined && rule.peers.length === 0 && rule.roles.length === 0;

/** Whether agents on `peerId` may offer `skill` (the rule's `providers`; none: anyone may). */
export function mayProvide(policy: SkillPolicy | SkillPolicyInput, peerId: string, skill: string): boolean {
  const rule = parseSkillPolicy(policy).rules.find((r) => r.providers && skillMatches(r.skill, skill));
  return !rule?.providers || rule.providers.includes(peerId);
}

/** First rule whose `skill` matches decides; no match: the policy default. */
export function mayCall(policy: SkillPolicy | SkillPolicyInput, call: SkillCallRequest): AclDecision {
  const p = parseSkillPolicy(policy);
  for (const [i, rule] of p.rules.entries()) {
    if (!skillMatches(rule.skill, call.skill) || onlyProviders(rule)) continue;
    if (rule.peers.includes(call.caller_peer_id)) return { allowed: true, reason: `rule ${i} (${rule.skill}) allows peer ${call.caller_peer_id}` };
    if (rule.roles.includes(call.caller_role)) return { allowed: true, reason: `rule ${i} (${rule.skill}) allows role ${call.caller_role}` };
    return {
      allowed: false,
      reason: `skill ${call.skill} is restricted by rule ${i} (${rule.skill}) and ${call.caller_peer_id} (role ${call.caller_role}) is not allowed`,
    };
  }
  return p.default === 'allow'
    ? { allowed: true, reason: `no rule for ${call.skill}; the policy allows by default` }
    : { allowed: false, reason: `no rule for ${call.skill} allows ${call.caller_peer_id}; the policy denies by default` };
}
