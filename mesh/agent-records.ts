/**
 * Registry records follow the sidecar's convention: one record per peer (agent_id = peer id,
 * every skill on the peer) and one per named local agent (`name@peer`). A message for a record
 * names the local agent in `target_agent` — or nobody, for the peer's own record.
 */
export const recordId = (name: string, peerId: string) => `${name}@${peerId}`;

export function targetName(agentId: string, peerId: string): string | undefined {
  if (agentId === peerId) return undefined;
  const suffix = '@' + peerId;
  return agentId.endsWith(suffix) ? agentId.slice(0, -suffix.length) : agentId;
}
