import { EventEmitter } from 'node:events';
import type { RegistryEvent } from '../mesh/protocol/index.ts';

/** In-process fan-out of live events to SSE subscribers. */
export class EventBus {
  readonly #emitter = new EventEmitter();
  constructor() {
    this.#emitter.setMaxListeners(0);
  }
  /** Set when other registry instances should see this instance's events too. */
  forward: ((e: RegistryEvent) => void) | undefined;

  publish(e: RegistryEvent): void {
    this.#emitter.emit('event', e);
    this.forward?.(e);
  }

  /** An event from another instance: local subscribers only. */
  deliver(e: RegistryEvent): void {
    this.#emitter.emit('event', e);
  }
  subscribe(fn: (e: RegistryEvent) => void): () => void {
    this.#emitter.on('event', fn);
    return () => this.#emitter.off('event', fn);
  }
}

/** Runs `fn` at most once per `ms`, trailing: bursts of changes become one event. */
export function coalesce(fn: () => Promise<void> | void, ms: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      Promise.resolve()
        .then(fn)
        .catch(() => undefined);
    }, ms);
    timer.unref?.();
  };
}
