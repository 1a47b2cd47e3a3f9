import type { Db } from '../store/sqlite.ts';
import type { OcspResponseRepository } from '../store/ocsp-responses.ts';
import { servedResponse, type OcspResponseCache, type ResponseLoader } from './ocsp-cache.ts';

/** Rows read per step while following the change feed (a refresh of many responses is read in pieces). */
const FOLLOW_BATCH = 5_000;

/**
 * Follows the ocsp_responses table for a bounded cache: misses are read by serial (`loader`),
 * and responses written since the last look (`seq`) are forgotten from the cache, so the next
 * request reads the new one. `changed` tells (through SQLite's data_version) whether another
 * connection committed. Shared by the status service and the read-only OCSP worker processes.
 * Nothing is loaded up front: start-up costs the same at 0 or 1,000,000 certificates.
 */
export class StoredResponseFeed {
  readonly #db: Db;
  readonly #responses: OcspResponseRepository;
  readonly #cache: OcspResponseCache;
  #seq = 0;
  #dataVersion = -1;

  constructor(d: { db: Db; responses: OcspResponseRepository; cache: OcspResponseCache }) {
    this.#db = d.db;
    this.#responses = d.responses;
    this.#cache = d.cache;
    this.#cache.loadMissesFrom(storedResponseLoader(d.responses));
  }

  /** Starts following from the newest write: what is stored now is read on demand. */
  mark(): void {
    this.changed();
    this.#seq = this.#responses.lastSeq();
  }

  /** Forgets every cached response written since the last call; returns how many rows were written. */
  load(): number {
    let n = 0;
    for (;;) {
      const rows = this.#responses.writtenSince(this.#seq, FOLLOW_BATCH);
      for (const r of rows) this.#cache.invalidate(r.serial);
      n += rows.length;
      if (rows.length > 0) this.#seq = rows[rows.length - 1]!.seq;
      if (rows.length < FOLLOW_BATCH) return n;
    }
  }

  /** True when another connection committed since the previous call (the first call records the version and says true). */
  changed(): boolean {
    const v = this.#db.pragma('data_version', { simple: true }) as number;
    if (v === this.#dataVersion) return false;
    this.#dataVersion = v;
    return true;
  }
}

/** Reads a serial's current stored response (primary key), ready to serve. */
export function storedResponseLoader(responses: OcspResponseRepository): ResponseLoader {
  return (serial, nowMs) => {
    const r = responses.current(serial, new Date(nowMs));
    return r ? servedResponse(serial, r.der, r.thisUpdate, r.nextUpdate) : null;
  };
}
