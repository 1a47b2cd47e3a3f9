import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';

/** Where spent nonces are recorded (AcmeNonceRepository in production). */
export interface SpentNonces {
  spend(nonce: string, expiresAt: number): boolean;
  purgeExpired(now: number): number;
}

const TIME_BYTES = 6;
const RANDOM_BYTES = 10;
const MAC_BYTES = 16;
const LENGTH = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;

/**
 * Replay nonces (RFC 8555 §6.5). A nonce is self-authenticating: issue time,
 * random bytes and an HMAC under a key derived from the instance secret, so any
 * nonce this CA issued — before or after a restart — is recognised without
 * storing it. Spending it writes it to the store, which refuses a second use;
 * spent entries are dropped once they would have expired anyway.
 */
export class NonceService {
  readonly #key: Uint8Array;
  readonly #spent: SpentNonces;
  readonly #clock: Clock;
  readonly lifetimeMs: number;
  #lastPurge = 0;

  constructor(o: { key: Uint8Array; spent: SpentNonces; clock: Clock; lifetimeMs: number }) {
    this.#key = o.key;
    this.#spent = o.spent;
    this.#clock = o.clock;
    this.lifetimeMs = o.lifetimeMs;
  }

  issue(): string {
    const buf = Buffer.alloc(LENGTH);
    buf.writeUIntBE(this.#clock.now().getTime(), 0, TIME_BYTES);
    randomBytes(RANDOM_BYTES).copy(buf, TIME_BYTES);
    this.#mac(buf.subarray(0, TIME_BYTES + RANDOM_BYTES)).copy(buf, TIME_BYTES + RANDOM_BYTES);
    return buf.toString('base64url');
  }

  /** Why a nonce is refused, or null when it was valid and is now spent. */
  consume(nonce: string): string | null {
    if (typeof nonce !== 'string' || nonce.length !== Math.ceil((LENGTH * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(nonce)) return 'the nonce is not one this server issued';
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== LENGTH || !timingSafeEqual(this.#mac(buf.subarray(0, TIME_BYTES + RANDOM_BYTES)), buf.subarray(TIME_BYTES + RANDOM_BYTES))) {
      return 'the nonce is not one this server issued';
    }
    const issuedAt = buf.readUIntBE(0, TIME_BYTES);
    const now = this.#clock.now().getTime();
    if (now - issuedAt > this.lifetimeMs) return 'the nonce has expired; retry with a fresh one';
    if (issuedAt - now > 60_000) return 'the nonce is not one this server issued';
    if (!this.#spent.spend(nonce, issuedAt + this.lifetimeMs)) return 'the nonce was already used; retry with a fresh one';
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now;
      this.#spent.purgeExpired(now);
    }
    return null;
  }

  #mac(data: Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(data).digest().subarray(0, MAC_BYTES);
  }
}
