import { Backoff } from '../backoff.ts';

/**
 * When a link tries a fresh connection again: exponential backoff with jitter (300 ms doubling up
 * to 10 s), reset once a connection opens.
 */
export class Redial {
  readonly #backoff = new Backoff({ initialMs: 300, maxMs: 10_000 });
  #timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * @param extraMs added to every delay. The peer with the higher id passes 1 s, so after a shared
   * failure the lower id's offer usually arrives first and wins cleanly.
   */
  constructor(readonly extraMs = 0) {}

  get pending(): boolean {
    return this.#timer !== null;
  }

  /** Runs `dial` after the next delay, replacing a scheduled one. */
  schedule(dial: () => void): void {
    this.cancel();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      dial();
    }, this.#backoff.next() + this.extraMs);
  }

  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A connection opened: the next failure starts again from the shortest delay. */
  reset(): void {
    this.#backoff.reset();
  }
}
