import { randomFillSync } from 'node:crypto';

/** Fills the whole of its argument with random bytes (randomFillSync in production; tests inject a known stream). */
export type RandomFill = (target: Uint8Array) => void;

const cryptoFill: RandomFill = (target) => {
  randomFillSync(target);
};

/**
 * Cryptographically secure random bytes, drawn from a buffer refilled with
 * randomFillSync a block at a time (4 KiB by default) instead of one
 * randomBytes call — one allocation and one trip into OpenSSL — per draw.
 *
 * Semantics: the pool is a single forward-only stream. Each byte of every fill
 * is handed out at most once, in order: a draw takes the next unread bytes and
 * advances the read position past them, and the buffer is refilled only once
 * every byte in it has been read (a draw that straddles the end takes the tail,
 * refills, and continues from the start of the new fill). Bytes already handed
 * out are wiped from the pool at once. Callers never receive a view into the
 * pool: `bytes` returns a fresh Buffer, `fillInto` copies into the caller's
 * buffer, `base64url` returns a string; so a later refill cannot change what a
 * caller holds, and no caller can read or change another caller's bytes.
 *
 * Not for secret keys (these bytes sit in memory until drawn); for ids,
 * tokens, nonces. Each thread (worker) and process has its own pool, filled
 * from its own OpenSSL RNG; Node never forks a process with a copy of this one.
 */
export class RandomPool {
  readonly #pool: Buffer;
  readonly #fill: RandomFill;
  #pos: number;
  #refills = 0;

  constructor(size = 4096, fill: RandomFill = cryptoFill) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`random pool size must be a positive integer, not ${size}`);
    // Its own memory, not a slice of Node's shared allocation pool.
    this.#pool = Buffer.allocUnsafeSlow(size);
    this.#fill = fill;
    this.#pos = size; // empty: the first draw fills it
  }

  /** How many times the pool has been refilled (including the first fill); for tests. */
  get refills(): number {
    return this.#refills;
  }

  /** n fresh random bytes in a new Buffer that the caller owns. */
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    this.fillInto(out, 0, n);
    return out;
  }

  /** Writes `length` random bytes into target[offset, offset + length). */
  fillInto(target: Uint8Array, offset = 0, length = target.length - offset): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > target.length) {
      throw new RangeError(`cannot fill ${length} bytes at ${offset} of a ${target.length}-byte buffer`);
    }
    const size = this.#pool.length;
    let at = offset;
    const end = offset + length;
    while (at < end) {
      if (this.#pos === size) {
        if (end - at >= size) {
          // A draw at least as large as the pool: fill the caller's buffer directly.
          this.#fill(target.subarray(at, end));
          return;
        }
        this.#refill();
      }
      const take = Math.min(end - at, size - this.#pos);
      this.#pool.copy(target, at, this.#pos, this.#pos + take);
      this.#pool.fill(0, this.#pos, this.#pos + take);
      this.#pos += take;
      at += take;
    }
  }

  /** n random bytes, base64url-encoded (no padding). */
  base64url(n: number): string {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`cannot draw ${n} random bytes`);
    if (n <= this.#pool.length - this.#pos) {
      // Encode straight from the pool (no copy), then mark the bytes read and wipe them.
      const start = this.#pos;
      this.#pos += n;
      const s = this.#pool.toString('base64url', start, start + n);
      this.#pool.fill(0, start, start + n);
      return s;
    }
    return this.bytes(n).toString('base64url');
  }

  #refill(): void {
    this.#fill(this.#pool);
    this.#pos = 0;
    this.#refills++;
  }
}

/** The process's shared pool. */
export const randomPool = new RandomPool();

/** n fresh random bytes (a new Buffer, never shared) from the process's pool; a drop-in for randomBytes(n). */
export const pooledRandomBytes = (n: number): Buffer => randomPool.bytes(n);
