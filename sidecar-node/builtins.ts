import type { AgentHub } from '../mesh/agent-hub.ts';
import type { Mesh } from '../mesh/mesh.ts';
import { DELEGATE_ARGS, DELEGATE_DESCRIPTION, delegateSkill } from '../mesh/delegate.ts';
import type { RegistryClient } from '../mesh/registry-client.ts';
import type { AgentRecord } from '../mesh/protocol/index.ts';
import { MeshMessageSchema } from '../mesh/protocol/index.ts';
import type { Logger } from '../mesh/types.ts';

interface Deps {
  hub: AgentHub;
  mesh: Mesh;
  registry: RegistryClient;
  log: Logger;
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`${what} is required`);
  return v;
};

/** Registers the sidecar's own skills on the hub. */
export function registerBuiltins(d: Deps): void {
  const { hub, mesh, registry } = d;

  hub.registerSkill('echo', 'Returns its arguments unchanged.', (args) => args);

  hub.registerSkill('list_agents', 'Agents known to the registry, with health, skills and the peer they live on.', async () =>
    (await registry.listAgents()).map(summary),
  );

  hub.registerSkill(
    'find_agent',
    'The best active agent for a skill: {skill} -> agent or null.',
    async (args) => {
      const rec = await registry.route(str(obj(args).skill, 'skill'));
      return rec ? summary(rec) : null;
    },
    { argsSchema: { type: 'object', properties: { skill: { type: 'string' } }, required: ['skill'] } },
  );

  hub.registerSkill(
    'mesh_send',
    'Sends a mesh message to a peer: {target_peer, message}.',
    async (args) => {
      const a = obj(args);
      const target = str(a.target_peer, 'target_peer');
      const msg = MeshMessageSchema.parse(a.message);
      await mesh.send(target, msg);
      return { sent: true, target_peer: target };
    },
    { localOnly: true },
  ); // it sends as this peer: for its own agents only

  hub.registerSkill(
    'mesh_broadcast',
    'Sends a mesh message to every connected peer: {message}.',
    async (args) => {
      const msg = MeshMessageSchema.parse(obj(args).message);
      return mesh.broadcast(msg);
    },
    { localOnly: true },
  );

  hub.registerSkill('delegate', DELEGATE_DESCRIPTION, delegateSkill({ hub, mesh, registry, logger: d.log }), { argsSchema: DELEGATE_ARGS });
}

function summary(r: AgentRecord) {
  return { agent_id: r.agent_id, peer_id: r.peer_id, health: r.health, skills: r.capabilities.skills, hostname: r.hostname, status: r.status };
}
