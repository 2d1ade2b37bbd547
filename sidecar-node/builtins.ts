import type { AgentHub } from '../mesh/agent-hub.ts';
import type { Mesh } from '../mesh/mesh.ts';
import { delegate } from '../mesh/delegate.ts';
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

  hub.registerSkill('echo', 'Returns its arguments unchanged.', (args) => args, { type: 'object' });

  hub.registerSkill('list_agents', 'Agents known to the registry, with health, skills and the peer they live on.', async () =>
    (await registry.listAgents()).map(summary),
  );

  hub.registerSkill('find_agent', 'The best active agent for a skill: {skill} -> agent or null.', async (args) => {
    const rec = await registry.route(str(obj(args).skill, 'skill'));
    return rec ? summary(rec) : null;
  }, { type: 'object', properties: { skill: { type: 'string' } }, required: ['skill'] });

  hub.registerSkill('mesh_send', 'Sends a mesh message to a peer: {target_peer, message}.', async (args) => {
    const a = obj(args);
    const target = str(a.target_peer, 'target_peer');
    const msg = MeshMessageSchema.parse(a.message);
    await mesh.send(target, msg);
    return { sent: true, target_peer: target };
  });

  hub.registerSkill('mesh_broadcast', 'Sends a mesh message to every connected peer: {message}.', async (args) => {
    const msg = MeshMessageSchema.parse(obj(args).message);
    return mesh.broadcast(msg);
  });

  hub.registerSkill(
    'delegate',
    'Runs a skill on another agent: {skill, args, target_peer?, target_agent?, timeout_ms?}. Direct DataChannel first, the registry task queue when there is no live link; the result names the tier.',
    (args, ctx) => {
      const a = obj(args);
      const opt = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      const targetPeer = opt(a.target_peer);
      const targetAgent = opt(a.target_agent);
      return delegate({ hub, mesh, registry, logger: d.log }, {
        skill: str(a.skill, 'skill'),
        args: a.args,
        ...(targetPeer && { targetPeer }),
        ...(targetAgent && { targetAgent }),
        timeoutMs: typeof a.timeout_ms === 'number' && a.timeout_ms > 0 ? Math.min(a.timeout_ms, 3_600_000) : 60_000,
        ...(ctx.sourceAgent && { sourceAgent: ctx.sourceAgent }),
        onChunk: (text) => ctx.stream(text),
      });
    },
  );
}

function summary(r: AgentRecord) {
  return { agent_id: r.agent_id, peer_id: r.peer_id, health: r.health, skills: r.capabilities.skills, hostname: r.hostname, status: r.status };
}
