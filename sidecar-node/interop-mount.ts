import type { Logger } from '../mesh/types.ts';
import type { InteropConfig } from './interop-config.ts';
import type { Mounted } from './mount-mcp.ts';

/**
 * Mounts what `--interop-config` names, each as an agent on this sidecar's hub (over its own IPC
 * socket, like any local agent). One that fails is reported and skipped; the others carry on.
 * The SDKs load only here, so a sidecar without interop starts as fast as before.
 */
export async function mountAll(cfg: InteropConfig, socketPath: string, log: Logger): Promise<Mounted[]> {
  const jobs: Promise<Mounted>[] = [];
  if (Object.keys(cfg.mcpServers).length) {
    const { mountMcpServer } = await import('./mount-mcp.ts');
    for (const [name, server] of Object.entries(cfg.mcpServers)) jobs.push(mountMcpServer(name, server, socketPath, log));
  }
  if (Object.keys(cfg.a2aAgents).length) {
    const { mountA2aAgent } = await import('./mount-a2a.ts');
    for (const [name, agent] of Object.entries(cfg.a2aAgents)) jobs.push(mountA2aAgent(name, agent, cfg.allowPrivateNetworks, socketPath, log));
  }
  const settled = await Promise.allSettled(jobs);
  const names = [...Object.keys(cfg.mcpServers), ...Object.keys(cfg.a2aAgents)];
  settled.forEach((s, i) => {
    if (s.status === 'rejected') log.error(`[interop] ${names[i]} could not be mounted: ${(s.reason as Error).message}`);
  });
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}
