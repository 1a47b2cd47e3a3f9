import type { Clock } from '../domain/clock.ts';
import type { Db } from '../store/sqlite.ts';
import type { OcspResponseRepository } from '../store/ocsp-responses.ts';
import { servedResponse, type OcspResponseCache } from './ocsp-cache.ts';

/**
 * Follows the ocsp_responses table into a cache: `load` copies what was written since the last
 * call, `changed` tells (through SQLite's data_version) whether another connection committed.
 * Shared by the status service and the read-only OCSP worker processes, so both see the same rows.
 */
export class StoredResponseFeed {
  readonly #db: Db;
  readonly #responses: OcspResponseRepository;
  readonly #cache: OcspResponseCache;
  readonly #clock: Clock;
  #seq = 0;
  #dataVersion = -1;

  constructor(d: { db: Db; responses: OcspResponseRepository; cache: OcspResponseCache; clock: Clock }) {
    this.#db = d.db;
    this.#responses = d.responses;
    this.#cache = d.cache;
    this.#clock = d.clock;
  }

  /** Puts every still-current response written since the last load into the cache; returns how many. */
  load(): number {
    let n = 0;
    for (const r of this.#responses.changedSince(this.#seq, this.#clock.now())) {
      this.#cache.put(servedResponse(r.serial, r.der, r.thisUpdate, r.nextUpdate));
      this.#seq = Math.max(this.#seq, r.seq);
      n++;
    }
    return n;
  }

  /** True when another connection committed since the previous call (the first call records the version and says true). */
  changed(): boolean {
    const v = this.#db.pragma('data_version', { simple: true }) as number;
    if (v === this.#dataVersion) return false;
    this.#dataVersion = v;
    return true;
  }
}
