import { createHash } from 'node:crypto';

/** A signed OCSP response ready to send, with its RFC 5019 §6.2 caching headers worked out once. */
export interface ServedResponse {
  serial: string;
  body: Buffer;
  thisUpdateMs: number;
  nextUpdateMs: number;
  etag: string;
  lastModified: string;
  expires: string;
}

export function servedResponse(serial: string, der: Uint8Array, thisUpdate: Date, nextUpdate: Date): ServedResponse {
  const body = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  return {
    serial,
    body,
    thisUpdateMs: thisUpdate.getTime(),
    nextUpdateMs: nextUpdate.getTime(),
    etag: `"${createHash('sha1').update(body).digest('hex')}"`,
    lastModified: thisUpdate.toUTCString(),
    expires: nextUpdate.toUTCString(),
  };
}

/** A Map that forgets its oldest entries past `max` (insertion order), so no request can grow memory without bound. */
class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override set(k: K, v: V): this {
    if (!this.has(k) && this.size >= this.#max) this.delete(this.keys().next().value as K);
    return super.set(k, v);
  }
}

/**
 * The responder's memory: pre-signed responses by serial (every live certificate), signed
 * "unknown" answers for serials we never issued (bounded), and the raw bytes of requests
 * already seen mapped to the serial they ask about, so a repeated request (the normal case:
 * clients ask the same question until nextUpdate) costs one Map lookup and no parsing.
 */
export class OcspResponseCache {
  readonly #bySerial = new Map<string, ServedResponse>();
  readonly #unknown: BoundedMap<string, ServedResponse>;
  readonly #byRequest: BoundedMap<string, string>;

  constructor(opts: { maxUnknown?: number; maxRequests?: number } = {}) {
    this.#unknown = new BoundedMap(opts.maxUnknown ?? 10_000);
    this.#byRequest = new BoundedMap(opts.maxRequests ?? 200_000);
  }

  /** Stores a certificate's response (replacing an older one; a newer one is never replaced by an older). */
  put(r: ServedResponse): void {
    const old = this.#bySerial.get(r.serial);
    if (old && old.thisUpdateMs > r.thisUpdateMs) return;
    this.#bySerial.set(r.serial, r);
    this.#unknown.delete(r.serial);
  }

  putUnknown(r: ServedResponse): void {
    this.#unknown.set(r.serial, r);
  }

  /** The current response for a serial: the certificate's own, else a cached "unknown"; null when none is fresh at `nowMs`. */
  get(serial: string, nowMs: number): ServedResponse | null {
    const r = this.#bySerial.get(serial) ?? this.#unknown.get(serial);
    return r && r.nextUpdateMs > nowMs ? r : null;
  }

  /** Remembers that the request with these raw bytes (GET path or POST body) asks exactly for `serial`'s pre-signed response. */
  rememberRequest(key: string, serial: string): void {
    this.#byRequest.set(key, serial);
  }

  /** The hot path: raw request key → fresh pre-signed response, or null (then parse). */
  forRequest(key: string, nowMs: number): ServedResponse | null {
    const serial = this.#byRequest.get(key);
    return serial === undefined ? null : this.get(serial, nowMs);
  }

  /**
   * Forgets responses past their nextUpdate. Live certificates are re-signed before that, so
   * what goes are certificates expired past the grace period: without this the map would
   * grow by every certificate ever issued (a day of 24 h leaves at a time).
   */
  evictExpired(nowMs: number): number {
    let n = 0;
    for (const [serial, r] of this.#bySerial) {
      if (r.nextUpdateMs <= nowMs) {
        this.#bySerial.delete(serial);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.#bySerial.size;
  }
}
