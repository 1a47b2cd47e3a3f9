import { type Cipher, createCipheriv, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import { randomPool } from '../domain/random-pool.ts';

/** Where spent nonces are recorded (AcmeNonceRepository in production). */
export interface SpentNonces {
  spend(nonce: string, expiresAt: number): boolean;
  purgeExpired(now: number): number;
}

const TIME_BYTES = 6;
const RANDOM_BYTES = 10;
const BODY_BYTES = TIME_BYTES + RANDOM_BYTES; // exactly one AES block
const TAG_BYTES = 16;
const LENGTH = BODY_BYTES + TAG_BYTES;
const ENCODED_LENGTH = Math.ceil((LENGTH * 4) / 3);
const NOT_OURS = 'the nonce is not one this server issued';

/** HKDF-SHA256 label for the AES tag key; the nonce key itself stays the (legacy) HMAC key only. */
export const NONCE_TAG_KEY_INFO = 'pki acme nonce tag v2';

/**
 * Replay nonces (RFC 8555 §6.5). A nonce is self-authenticating, so any nonce
 * this CA issued — before or after a restart — is recognised without storing
 * it. Spending it writes it to the store, which refuses a second use; spent
 * entries are dropped once they would have expired anyway.
 *
 * Wire format (32 bytes, 43 characters base64url):
 *   issue time in ms (6, big-endian) | random (10) | tag (16)
 * where tag = AES-256_k(time | random): the authenticated part is exactly one
 * AES block, and a PRP on a single fixed-length block is a secure MAC (PRF/PRP
 * switching: forgery advantage about q²/2^128 plus 2^-128 per guess). One block
 * through a long-lived ECB cipher costs far less than an HMAC, which builds a
 * fresh OpenSSL context per call. k = HKDF-SHA256(nonce key, NONCE_TAG_KEY_INFO).
 */
export class NonceService {
  /** The nonce key as given: only ever used for checking legacy HMAC tags. */
  readonly #legacyKey: Uint8Array;
  /** AES-256-ECB, no padding: each 16-byte update is one independent block. Used for issuing and checking. */
  readonly #tagCipher: Cipher;
  readonly #spent: SpentNonces;
  readonly #clock: Clock;
  /** When this service was created; legacy (HMAC) nonces are accepted only if issued before it. */
  readonly #startedAt: number;
  readonly lifetimeMs: number;
  #lastPurge = 0;

  constructor(o: { key: Uint8Array; spent: SpentNonces; clock: Clock; lifetimeMs: number }) {
    this.#legacyKey = o.key;
    const tagKey = Buffer.from(hkdfSync('sha256', o.key, Buffer.alloc(0), NONCE_TAG_KEY_INFO, 32));
    this.#tagCipher = createCipheriv('aes-256-ecb', tagKey, null).setAutoPadding(false);
    tagKey.fill(0);
    this.#spent = o.spent;
    this.#clock = o.clock;
    this.#startedAt = o.clock.now().getTime();
    this.lifetimeMs = o.lifetimeMs;
  }

  issue(): string {
    const buf = Buffer.allocUnsafe(LENGTH);
    buf.writeUIntBE(this.#clock.now().getTime(), 0, TIME_BYTES);
    randomPool.fillInto(buf, TIME_BYTES, RANDOM_BYTES);
    this.#tag(buf.subarray(0, BODY_BYTES)).copy(buf, BODY_BYTES);
    return buf.toString('base64url');
  }

  /** Why a nonce is refused, or null when it was valid and is now spent. */
  consume(nonce: string): string | null {
    if (typeof nonce !== 'string' || nonce.length !== ENCODED_LENGTH || !/^[A-Za-z0-9_-]+$/.test(nonce)) return NOT_OURS;
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== LENGTH) return NOT_OURS;
    const body = buf.subarray(0, BODY_BYTES);
    const tag = buf.subarray(BODY_BYTES);
    const issuedAt = buf.readUIntBE(0, TIME_BYTES);
    if (!timingSafeEqual(this.#tag(body), tag) && !this.#legacyTagValid(issuedAt, body, tag)) return NOT_OURS;
    const now = this.#clock.now().getTime();
    if (now - issuedAt > this.lifetimeMs) return 'the nonce has expired; retry with a fresh one';
    if (issuedAt - now > 60_000) return NOT_OURS;
    if (!this.#spent.spend(nonce, issuedAt + this.lifetimeMs)) return 'the nonce was already used; retry with a fresh one';
    if (now - this.#lastPurge > 60_000) {
      this.#lastPurge = now;
      this.#spent.purgeExpired(now);
    }
    return null;
  }

  #tag(body: Uint8Array): Buffer {
    const out = this.#tagCipher.update(body);
    // Cannot happen with a 16-byte input, no padding and ECB (nothing is ever buffered); refuse rather than mis-tag.
    if (out.length !== TAG_BYTES) throw new Error(`nonce tag cipher returned ${out.length} bytes for one block`);
    return out;
  }

  /**
   * Upgrade path: nonces issued by the previous version carry
   * HMAC-SHA256(nonce key, time | random) truncated to 16 bytes. One that a
   * client fetched before the restart into this version is still accepted
   * (once, within its lifetime, through the same checks and spent-nonce store
   * as any other), but only if its issue time is before this service started:
   * this version never issues HMAC tags, so none can be legitimately newer.
   *
   * Remove this (and #legacyKey) one nonce lifetime after every server runs
   * this version: by then every legacy nonce has expired anyway.
   */
  #legacyTagValid(issuedAt: number, body: Uint8Array, tag: Uint8Array): boolean {
    if (issuedAt >= this.#startedAt) return false;
    const mac = createHmac('sha256', this.#legacyKey).update(body).digest().subarray(0, TAG_BYTES);
    return timingSafeEqual(mac, tag);
  }
}
