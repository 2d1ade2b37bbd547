/**
 * Token buckets keyed by client (IP) or connection: `perWindow` requests per `windowMs`, refilled
 * continuously. Bounded memory: the oldest idle buckets go when the map grows past `maxKeys`.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  constructor(perWindow: number, windowMs = 60_000, burst = perWindow, maxKeys = 50_000) {
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** True when the call may go ahead (and counts it). */
  take(key: string, now = Date.now()): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) * this.#perWindow) / this.#windowMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** True when a call would go ahead now (counts nothing). */
  allows(key: string, now = Date.now()): boolean {
    const b = this.#buckets.get(key);
    return !b || Math.min(this.#burst, b.tokens + ((now - b.at) * this.#perWindow) / this.#windowMs) >= 1;
  }

  #evict(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (now - b.at > this.#windowMs) this.#buckets.delete(k);
    }
    // Still full: drop the oldest half (Map iterates in insertion order).
    if (this.#buckets.size >= this.#maxKeys) {
      let n = Math.floor(this.#maxKeys / 2);
      for (const k of this.#buckets.keys()) {
        if (n-- <= 0) break;
        this.#buckets.delete(k);
      }
    }
  }
}
