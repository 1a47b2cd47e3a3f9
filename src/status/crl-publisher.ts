import { createHash } from 'node:crypto';
import type { Authority, IssuerInfo } from '../authority/authority.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../domain/log.ts';
import { toPem } from '../x509/x509.ts';
import type { StoredCrl } from '../store/crls.ts';
import type { Store } from '../store/store.ts';
import type { StatusOptions } from './options.ts';
import { THIS_REPLICA } from '../store/leases.ts';

/** How long a replica may hold a shard's build before the lease lapses (a build takes milliseconds to seconds). */
const CRL_LEASE_MS = 60_000;

/** A CRL shard ready to serve, DER and PEM, with its caching headers worked out once. */
export interface PublishedCrl {
  shard: number;
  number: bigint;
  der: Buffer;
  /** Built on first use: a million-entry CRL's PEM is 60 MB nobody may ask for. */
  readonly pem: string;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  etag: string;
}

interface CrlPublisherDeps {
  store: Store;
  authority: Pick<Authority, 'issuer' | 'issueCrl'>;
  clock: Clock;
  logger: Logger;
  options: StatusOptions;
}

/**
 * Builds, stores and serves the CRL shards of one issuer. A certificate's shard is fixed
 * at issuance (its CDP names it), so each shard lists exactly the revoked certificates
 * whose serial maps to it. Rebuilds are coalesced: revocations arriving within
 * `crlRebuildDelayMs` of each other share one rebuild.
 */
export class CrlPublisher {
  readonly #d: CrlPublisherDeps;
  readonly #issuer: IssuerInfo;
  readonly #current = new Map<number, PublishedCrl>();
  readonly #dirty = new Set<number>();
  /** When each dirty shard was first marked: a CRL another replica built after that makes the rebuild moot (#22). */
  readonly #dirtySince = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(d: CrlPublisherDeps) {
    this.#d = d;
    this.#issuer = d.authority.issuer;
  }

  /** Loads stored CRLs and builds every shard that has none or whose nextUpdate is near. */
  async start(): Promise<void> {
    this.syncFromStore();
    for (let s = 0; s < this.#issuer.crlShards; s++) if (!this.#current.has(s)) this.#dirty.add(s);
    this.markDue();
    await this.flush();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  current(shard: number): PublishedCrl | null {
    return this.#current.get(shard) ?? null;
  }

  /** Schedules a rebuild of `shard` shortly (a revocation happened). */
  markDirty(shard: number): void {
    this.#dirty.add(shard);
    if (!this.#dirtySince.has(shard)) this.#dirtySince.set(shard, this.#d.clock.now().getTime());
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, this.#d.options.crlRebuildDelayMs);
    this.#timer.unref();
  }

  /** Marks shards whose nextUpdate is within the refresh margin. */
  markDue(): void {
    const limit = this.#d.clock.now().getTime() + this.#d.options.crlRefreshBeforeMs;
    for (let s = 0; s < this.#issuer.crlShards; s++) {
      const c = this.#current.get(s);
      if (!c || c.nextUpdate.getTime() <= limit) this.markDirty(s);
    }
  }

  /** Rebuilds every dirty shard now; resolves when done (rebuilds never overlap). */
  flush(): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      const shards = [...this.#dirty].sort((a, b) => a - b);
      this.#dirty.clear();
      for (const s of shards) {
        const since = this.#dirtySince.get(s);
        this.#dirtySince.delete(s);
        try {
          if (this.#d.store.shared) await this.#rebuildLeased(s, since);
          else await this.rebuild(s);
        } catch (e) {
          if (since !== undefined && !this.#dirtySince.has(s)) this.#dirtySince.set(s, since);
          this.#dirty.add(s); // try again with the next round
          this.#d.logger.error('crl.rebuild.failed', { shard: s, error: (e as Error).message });
        }
      }
    });
    return this.#chain;
  }

  /**
   * Replicas (#22): a shard is built by the replica holding its lease, one at a time; the others
   * serve what it stored. A shard whose lease another replica holds stays dirty for the next round;
   * one that another replica rebuilt after this one marked it needs nothing more.
   */
  async #rebuildLeased(shard: number, since: number | undefined): Promise<void> {
    const { store, clock } = this.#d;
    const lease = `crl:${this.#issuer.keyId}:${shard}`;
    if (!store.leases.acquire(lease, THIS_REPLICA, clock.now().getTime(), CRL_LEASE_MS)) {
      this.markDirty(shard);
      if (since !== undefined) this.#dirtySince.set(shard, Math.min(since, this.#dirtySince.get(shard) ?? since));
      return;
    }
    try {
      this.syncFromStore();
      const current = this.#current.get(shard);
      const stillFresh = current && since !== undefined && current.thisUpdate.getTime() > since && current.nextUpdate.getTime() > clock.now().getTime() + this.#d.options.crlRefreshBeforeMs;
      if (!stillFresh) await this.rebuild(shard);
    } finally {
      store.leases.release(lease, THIS_REPLICA);
    }
  }

  /** Picks up CRLs another process stored (e.g. a newer number). */
  syncFromStore(): void {
    for (let s = 0; s < this.#issuer.crlShards; s++) {
      const stored = this.#d.store.crls.latest(this.#issuer.keyId, s);
      const mine = this.#current.get(s);
      if (stored && (!mine || stored.number > mine.number)) this.#current.set(s, published(stored));
    }
  }

  /** Has the authority issue the next CRL of one shard, and serves it. */
  async rebuild(shard: number): Promise<PublishedCrl> {
    const { clock, options } = this.#d;
    const started = performance.now();
    const now = clock.now();
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const record = await this.#d.authority.issueCrl({
      shard,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + options.crlValidityMs),
      listExpiredSince: new Date(now.getTime() - options.expiredGraceMs),
    });
    const p = published(record);
    this.#current.set(shard, p);
    this.#d.logger.info('crl.published', { shard, number: record.number.toString(), entries: record.entries, ms: Math.round(performance.now() - started) });
    return p;
  }
}

function published(c: StoredCrl): PublishedCrl {
  const der = Buffer.from(c.der.buffer, c.der.byteOffset, c.der.byteLength);
  let pem: string | null = null;
  return {
    shard: c.shard,
    number: c.number,
    der,
    get pem() {
      return (pem ??= toPem(der, 'X509 CRL'));
    },
    thisUpdate: c.thisUpdate,
    nextUpdate: c.nextUpdate,
    entries: c.entries,
    etag: `"${createHash('sha1').update(der).digest('hex')}"`,
  };
}
