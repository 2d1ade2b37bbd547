// Two sidecars for the delivery-tier tests: B runs a worker agent the registry knows; A delegates to it.
import assert from 'node:assert/strict';
import type { FaultWorld, Sidecar } from './world.ts';
import { RegistryClient } from '../../mesh/registry-client.ts';
import type { IpcProbe } from './ipc-probe.ts';

const FAST = { HEARTBEAT_MS: '500' };

export interface Pair {
  A: Sidecar;
  B: Sidecar;
  pa: IpcProbe;
  pb: IpcProbe;
  skill: string;
}

/** Starts sidecars on hosts 1 and 2; B runs an agent `worker` with skill `fault_work_<tag>`, registered with the registry. */
export async function pair(world: FaultWorld, tag: string, env: Record<string, string> = {}): Promise<Pair> {
  const A = await world.startSidecar(1, { peerId: `${tag}-a`, env: { ...FAST, ...env } });
  const B = await world.startSidecar(2, { peerId: `${tag}-b`, env: { ...FAST, ...env } });
  const pa = await A.probe();
  const pb = await B.probe();
  // a skill name of its own per pair: agents of sidecars killed by earlier tests stay in the registry for a while
  const skill = `fault_work_${tag}`;
  pb.registerAgent('worker', [skill]);
  pb.serveSkill(skill, (args) => ({ done: args, by: B.peerId }));
  // the registry must know the worker before A can route to it
  const admin = new RegistryClient({ baseUrl: world.registry.url, apiKey: world.registry.adminKey });
  const deadline = Date.now() + 30_000;
  while (!(await admin.listAgents()).some((r) => r.peer_id === B.peerId && r.capabilities.skills.includes(skill))) {
    assert.ok(Date.now() < deadline, 'worker never appeared in the registry');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { A, B, pa, pb, skill };
}

export async function delegate(p: Pair, n: number): Promise<{ tier?: string; result?: unknown }> {
  const answer = await p.pa.callOwnSkill(p.A.peerId, 'delegate', { skill: p.skill, args: { n }, timeout_ms: 30_000 }, 45_000);
  assert.equal(answer.error, undefined, `delegate failed: ${answer.error}`);
  return answer.result as { tier?: string; result?: unknown };
}

export async function linkPath(world: FaultWorld, from: string, to: string): Promise<string | undefined> {
  const admin = new RegistryClient({ baseUrl: world.registry.url, apiKey: world.registry.adminKey });
  const topo = await admin.topology();
  return topo.mesh_edges.find((e) => (e.from_peer === from && e.to_peer === to) || (e.from_peer === to && e.to_peer === from))?.path;
}
