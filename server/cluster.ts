import { randomBytes } from 'node:crypto';
import type { RegistryEvent } from '../mesh/protocol/index.ts';
import type { Revocation } from './revocation.ts';
import { log } from './log.ts';

/**
 * Several registry instances behind a load balancer (docs/registry.md, Several instances): state is in the shared
 * PostgreSQL; what lives in memory — who is connected where, signaling frames for a peer on
 * another instance, live events, revocations, the streamed pieces of a queued task — goes over
 * Redis pub/sub (REDIS_URL).
 */
export type ClusterMessage =
  | { kind: 'joined'; peer: string }
  | { kind: 'left'; peer: string }
  | { kind: 'relay'; to: string; text: string }
  | { kind: 'revoke'; revocation: Revocation }
  | { kind: 'event'; event: RegistryEvent }
  | { kind: 'chunk'; task: string; text: string };

export interface ClusterHandlers {
  onMessage(msg: ClusterMessage): void;
}

type RedisClient = import('ioredis').Redis;

const INSTANCE_TTL_S = 10;

export class RedisCluster {
  readonly instanceId = randomBytes(6).toString('hex');
  #pub!: RedisClient;
  #sub!: RedisClient;
  #beat: NodeJS.Timeout | undefined;
  readonly #peersKey: string;
  readonly #channel: string;
  readonly #url: string;
  readonly #prefix: string;
  readonly #handlers: ClusterHandlers;

  constructor(url: string, prefix: string, handlers: ClusterHandlers) {
    this.#url = url;
    this.#prefix = prefix;
    this.#handlers = handlers;
    this.#peersKey = `${prefix}:peers`;
    this.#channel = `${prefix}:cluster`;
  }

  #instanceKey(id: string): string {
    return `${this.#prefix}:instance:${id}`;
  }

  async start(): Promise<void> {
    const { Redis } = await import('ioredis');
    const opts = { maxRetriesPerRequest: 3, lazyConnect: true } as const;
    this.#pub = new Redis(this.#url, opts);
    this.#sub = new Redis(this.#url, opts);
    // A Redis outage must not crash the registry; ioredis reconnects by itself.
    this.#pub.on('error', (e) => log.warn(`[CLUSTER] redis: ${e.message}`));
    this.#sub.on('error', (e) => log.warn(`[CLUSTER] redis: ${e.message}`));
    await Promise.all([this.#pub.connect(), this.#sub.connect()]);
    await this.#sub.subscribe(this.#channel);
    this.#sub.on('message', (_ch, raw) => {
      let env: { from: string; msg: ClusterMessage };
      try {
        env = JSON.parse(raw);
      } catch {
        return;
      }
      if (env.from === this.instanceId) return;
      try {
        this.#handlers.onMessage(env.msg);
      } catch (e) {
        log.error('[CLUSTER] message handling failed', e);
      }
    });
    await this.#alive();
    this.#beat = setInterval(() => void this.#alive().catch(() => undefined), 3000);
    this.#beat.unref();
  }

  #alive(): Promise<unknown> {
    return this.#pub.set(this.#instanceKey(this.instanceId), '1', 'EX', INSTANCE_TTL_S);
  }

  async publish(msg: ClusterMessage): Promise<void> {
    await this.#pub
      .publish(this.#channel, JSON.stringify({ from: this.instanceId, msg }))
      .catch((e) => log.warn(`[CLUSTER] publish failed: ${(e as Error).message}`));
  }

  async joined(peer: string): Promise<void> {
    await this.#pub.hset(this.#peersKey, peer, this.instanceId).catch(() => undefined);
    await this.publish({ kind: 'joined', peer });
  }

  /** Only if the peer is still ours (a newer connection elsewhere may have taken it). */
  async left(peer: string): Promise<void> {
    const owner = await this.#pub.hget(this.#peersKey, peer).catch(() => null);
    if (owner !== this.instanceId) return;
    await this.#pub.hdel(this.#peersKey, peer).catch(() => undefined);
    await this.publish({ kind: 'left', peer });
  }

  /** Peers registered on other instances that are still alive. */
  async remotePeers(): Promise<string[]> {
    const all = await this.#pub.hgetall(this.#peersKey).catch(() => ({}) as Record<string, string>);
    const instances = [...new Set(Object.values(all))].filter((i) => i !== this.instanceId);
    if (!instances.length) return [];
    const alive = await this.#pub.mget(...instances.map((i) => this.#instanceKey(i))).catch(() => [] as (string | null)[]);
    const live = new Set(instances.filter((_, k) => alive[k] === '1'));
    return Object.entries(all)
      .filter(([, inst]) => live.has(inst))
      .map(([peer]) => peer);
  }

  /** Sends a frame to a peer on another live instance; false when no instance has it. */
  async relay(to: string, text: string): Promise<boolean> {
    const owner = await this.#pub.hget(this.#peersKey, to).catch(() => null);
    if (!owner || owner === this.instanceId) return false;
    if ((await this.#pub.exists(this.#instanceKey(owner)).catch(() => 0)) !== 1) return false;
    await this.publish({ kind: 'relay', to, text });
    return true;
  }

  /** Shutdown: forget our peers so the others do not list them. */
  async stop(localPeers: string[]): Promise<void> {
    clearInterval(this.#beat);
    try {
      for (const p of localPeers) await this.left(p);
      await this.#pub.del(this.#instanceKey(this.instanceId));
    } catch {
      /* best effort */
    }
    this.#sub.disconnect();
    this.#pub.disconnect();
  }
}
