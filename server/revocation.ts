import { REVOKED, REVOKED_TASK_ERROR } from '../mesh/protocol/index.ts';
import { deletedKeyText, revokedDeviceText } from './auth/authenticator.ts';
import { now, type RegistryState } from './state.ts';
import { log } from './log.ts';

/**
 * A peer cut off by an admin: its API keys deleted (`key`: JWTs issued up to `at` stop working)
 * or its paired device revoked (`pairing`: the peer id is refused for good).
 */
export interface Revocation {
  peer: string;
  how: 'key' | 'pairing';
  /** Epoch seconds. */
  at: number;
}

/**
 * What every registry instance does at once, locally (this one, and the others when the cluster
 * bus tells them): refuse the credential, then end the peer's live sessions with the revocation
 * contract (mesh/protocol/revocation.ts): the `/ws` sockets with an error frame and close 4003
 * "revoked…", the event streams with `event: revoked`.
 */
export function applyRevocation(reg: RegistryState, r: Revocation): void {
  if (r.how === 'pairing') reg.auth.setRevoked([r.peer]);
  else reg.auth.invalidateTokens(r.peer, r.at);
  const message = r.how === 'pairing' ? revokedDeviceText(r.peer) : deletedKeyText(r.peer);
  reg.hub.revoke(r.peer, message);
  reg.sessions.end(r.peer, { code: REVOKED, message });
}

/**
 * An admin revoked a peer on this instance: applied here and published to the other instances;
 * in the shared store its agent records leave the registry and its unfinished tasks fail now,
 * so the dashboard stops listing it and requesters do not wait for the TTL.
 */
export async function revokePeer(reg: RegistryState, r: Revocation): Promise<{ agents: number; tasks: number }> {
  applyRevocation(reg, r);
  void reg.hub.cluster?.publish({ kind: 'revoke', revocation: r });
  const agents = await reg.agents.deleteByPeer(r.peer);
  await reg.links.deletePeer(r.peer);
  const failed = await reg.tasks.failForPeer(r.peer, agents, `${REVOKED_TASK_ERROR}: ${r.peer} was revoked by an admin before the task finished`, now());
  for (const task of failed) reg.bus.publish({ type: 'tasks', data: task });
  reg.agentsChanged();
  log.info(
    `[AUTH] ${r.peer} revoked (${r.how === 'key' ? 'API key deleted' : 'device revoked'}): ${agents.length} agent(s) removed, ${failed.length} task(s) failed`,
  );
  return { agents: agents.length, tasks: failed.length };
}
