import { ServerCallContext, type User } from '@a2a-js/sdk/server';
import type { Principal } from '../auth/tokens.ts';

/** The registry's authenticated caller as the A2A SDK's user (its name scopes the SDK's event buses). */
class MeshUser implements User {
  constructor(readonly principal: Principal) {}
  get isAuthenticated(): boolean {
    return true;
  }
  get userName(): string {
    return this.principal.peerId;
  }
}

import { ANY_AGENT } from './a2a-context-id.ts';

/** A call context that carries who calls and which agent's URL was called. */
export function callContext(principal: Principal, agentId: string, requestedVersion: string | undefined): ServerCallContext {
  return new ServerCallContext({ user: new MeshUser(principal), ...(requestedVersion && { requestedVersion }), state: new Map([['agent', agentId]]) });
}

export function callerOf(ctx: ServerCallContext): { principal: Principal; agentId: string } {
  const user = ctx.user;
  if (!(user instanceof MeshUser)) throw new Error('an A2A call without an authenticated caller');
  const agentId = ctx.state.get('agent');
  return { principal: user.principal, agentId: typeof agentId === 'string' ? agentId : ANY_AGENT };
}
