/** A tiny typed event emitter that runs the same in a tab, a worker and Node (no node:events). */
export type Listener<A extends unknown[]> = (...args: A) => void;

export class Emitter<E extends Record<string, unknown[]>> {
  // biome-ignore lint/suspicious/noExplicitAny: listeners of every event share one map; on() and emit() keep them typed
  #listeners = new Map<keyof E, Set<Listener<any>>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, ((...args: E[K]) => {
      off();
      fn(...args);
    }) as Listener<E[K]>);
    return off;
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    this.#listeners.get(event)?.delete(fn);
  }

  /** Calls every listener; a throwing listener is reported and never stops the others. */
  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`listener for "${String(event)}" threw:`, err);
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
