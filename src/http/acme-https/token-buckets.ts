/** A rate limit's buckets by key: this process's own (TokenBuckets) or shared by replicas (instance wiring). */
export interface RateLimitBuckets {
  /** Takes a token for `key` at `nowMs`: 0 when allowed, else the whole seconds until one is available. */
  take(key: string, nowMs: number): number;
}

/** Makes the buckets of one named limit. */
export type RateLimitBucketsFactory = (name: string, config: { burst: number; perSecond: number }) => RateLimitBuckets;

/**
 * Token buckets by key (an account id, a client address). Each key starts full (`burst`
 * tokens) and refills at `perSecond`; a request takes one token or is told how long to wait.
 * Memory is bounded: buckets that have refilled completely carry no information and are
 * dropped whenever the map grows past `maxKeys`.
 */
export class TokenBuckets implements RateLimitBuckets {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(o: { burst: number; perSecond: number; maxKeys?: number }) {
    this.#burst = o.burst;
    this.#perMs = o.perSecond / 1000;
    this.#maxKeys = o.maxKeys ?? 100_000;
  }

  /** Takes a token for `key` at `nowMs`: 0 when allowed, else the whole seconds until one is available. */
  take(key: string, nowMs: number): number {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.#sweep(nowMs);
      b = { tokens: this.#burst, at: nowMs };
      this.#buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (nowMs - b.at) * this.#perMs);
      b.at = nowMs;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000));
  }

  get size(): number {
    return this.#buckets.size;
  }

  #sweep(nowMs: number): void {
    for (const [k, b] of this.#buckets) if (b.tokens + (nowMs - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(k);
    // Everyone is mid-burst (an attack over many keys): forget the oldest rather than grow without bound.
    while (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
