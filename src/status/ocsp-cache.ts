import { createHash } from 'node:crypto';
import { DEFAULT_OCSP_CACHE_ENTRIES } from '../config/status.ts';

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
 * Admission to the hot set (TinyLFU's "doorkeeper", Einziger et al. 2017): a response read from
 * the database is held only if its serial was read before recently, i.e. it is asked for again
 * within about `slots` other misses. Under a uniform mix over a fleet far larger than the hot set
 * almost nothing would be asked for again before eviction, and admitting every miss only turned
 * the LRU over: each response lived long enough to be promoted to V8's old generation and died
 * there, so the misses paid for major GCs as well as SQL. A hot serial is admitted on its second
 * miss. Fixed memory (4 bytes a slot); a slot is overwritten by any later serial hashing to it,
 * which is the ageing; a collision only admits a response early, never serves a wrong one.
 */
export class Doorkeeper {
  readonly #slots: Uint32Array;
  readonly #mask: number;
  constructor(entries: number) {
    let n = 1024;
    while (n < entries && n < 1 << 24) n <<= 1;
    this.#slots = new Uint32Array(n);
    this.#mask = n - 1;
  }

  /** True when `key` was offered since its slot was last taken (then the slot is freed); else records it and says false. */
  admit(key: string): boolean {
    const h = fnv1a(key);
    const i = h & this.#mask;
    const tag = (h | 1) >>> 0; // never 0 (the empty slot), and unsigned as the array stores it
    if (this.#slots[i] === tag) {
      this.#slots[i] = 0;
      return true;
    }
    this.#slots[i] = tag;
    return false;
  }
}

/** FNV-1a over the UTF-16 code units: serials are short hex text; cheap, and spread enough for a doorkeeper. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Where a response the cache does not hold comes from (the database, by serial); null when none is current at `nowMs`. */
export type ResponseLoader = (serial: string, nowMs: number) => ServedResponse | null;

/** Sizes of the responder's memory; each is a count of entries, so memory stays flat whatever the fleet size. */
export interface OcspCacheLimits {
  /** Pre-signed responses of our certificates held in memory (least recently used goes first). */
  maxEntries?: number;
  /** Signed "unknown" answers for serials we never issued. */
  maxUnknown?: number;
  /** Raw request bytes remembered → serial. */
  maxRequests?: number;
}


/**
 * The responder's memory: a bounded hot set of pre-signed responses by serial (least recently
 * used evicted; a miss is loaded through `loader` by primary key, well under a millisecond),
 * signed "unknown" answers for serials we never issued (bounded), and the raw bytes of requests
 * already seen mapped to the serial they ask about, so a repeated request (the normal case:
 * clients ask the same question until nextUpdate) costs Map lookups and no parsing.
 * Nothing here grows with the number of live certificates.
 */
export class OcspResponseCache {
  readonly #bySerial = new Map<string, ServedResponse>();
  readonly #maxEntries: number;
  readonly #unknown: BoundedMap<string, ServedResponse>;
  readonly #byRequest: BoundedMap<string, string>;
  readonly #doorkeeper: Doorkeeper;
  #loader: ResponseLoader | null = null;

  constructor(opts: OcspCacheLimits = {}) {
    this.#maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_OCSP_CACHE_ENTRIES);
    this.#unknown = new BoundedMap(opts.maxUnknown ?? 10_000);
    this.#byRequest = new BoundedMap(opts.maxRequests ?? 2 * this.#maxEntries);
    this.#doorkeeper = new Doorkeeper(this.#maxEntries);
  }

  /** Sets where misses are read from (the store's current response for a serial). */
  loadMissesFrom(loader: ResponseLoader): void {
    this.#loader = loader;
  }

  /** Stores a certificate's response (replacing an older one; a newer one is never replaced by an older). */
  put(r: ServedResponse): void {
    const old = this.#bySerial.get(r.serial);
    if (old && old.thisUpdateMs > r.thisUpdateMs) return;
    this.#hold(r);
    this.#unknown.delete(r.serial);
  }

  /** Replaces a held response only (a change to a certificate nobody asked about stays in the database). */
  update(r: ServedResponse): void {
    if (this.#bySerial.has(r.serial)) this.put(r);
    else this.#unknown.delete(r.serial);
  }

  /** Forgets what is held for a serial (its stored response changed): the next request reads the new one. */
  invalidate(serial: string): void {
    this.#bySerial.delete(serial);
    this.#unknown.delete(serial);
  }

  putUnknown(r: ServedResponse): void {
    this.#unknown.set(r.serial, r);
  }

  /**
   * The current response for a serial: the certificate's own (held, else loaded), else a cached
   * "unknown"; null when none is fresh at `nowMs`.
   */
  get(serial: string, nowMs: number): ServedResponse | null {
    const held = this.#bySerial.get(serial);
    if (held && held.nextUpdateMs > nowMs) {
      // Most recently used goes last: Map iteration order is insertion order.
      this.#bySerial.delete(serial);
      this.#bySerial.set(serial, held);
      return held;
    }
    const loaded = this.#loader?.(serial, nowMs) ?? null;
    if (loaded && loaded.nextUpdateMs > nowMs) {
      // Held only when asked for again soon (see Doorkeeper): a serial asked once is served and dropped.
      if (held || this.#doorkeeper.admit(serial)) this.put(loaded);
      return loaded;
    }
    if (held) this.#bySerial.delete(serial);
    const u = this.#unknown.get(serial);
    return u && u.nextUpdateMs > nowMs ? u : null;
  }

  #hold(r: ServedResponse): void {
    this.#bySerial.delete(r.serial);
    if (this.#bySerial.size >= this.#maxEntries) this.#bySerial.delete(this.#bySerial.keys().next().value as string);
    this.#bySerial.set(r.serial, r);
  }

  /**
   * Remembers that the request with these raw bytes (GET path or POST body) asks exactly for
   * `serial`'s pre-signed response, while that response is held: a key for a response not held
   * would save only the parse of its next request and churn the map like an unadmitted response.
   */
  rememberRequest(key: string, serial: string): void {
    if (this.#bySerial.has(serial)) this.#byRequest.set(key, serial);
  }

  /** The hot path: raw request key → fresh pre-signed response, or null (then parse). */
  forRequest(key: string, nowMs: number): ServedResponse | null {
    const serial = this.#byRequest.get(key);
    return serial === undefined ? null : this.get(serial, nowMs);
  }

  /** Forgets held responses past their nextUpdate (certificates expired past the grace period are never re-signed). */
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

  /** Responses held in memory (at most maxEntries). */
  get size(): number {
    return this.#bySerial.size;
  }
}
