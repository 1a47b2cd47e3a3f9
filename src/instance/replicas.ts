import type { RateLimitBucketsFactory } from '../http/acme-https/token-buckets.ts';
import type { CaInstance } from './open.ts';

/**
 * What changes when `pki serve` replicas share one PostgreSQL database (#22), in one place:
 * every other mechanism (nonces, serials, the audit sequence) is already shared through the
 * database and the instance directory's secrets.
 */

/** How long untouched rate buckets are kept: every configured bucket is full again long before. */
const BUCKET_KEEP_MS = 60 * 60_000;

/**
 * Shared rate limits on PostgreSQL: one bucket per limit and key across replicas, so a client
 * behind a round-robin balancer meets the limit it would meet against one replica. On SQLite (one
 * process) the pipeline keeps its buckets in memory.
 */
export function sharedBuckets(ca: CaInstance): { buckets?: RateLimitBucketsFactory } {
  const store = ca.issuanceStore;
  if (!store.shared) return {};
  const purge = setInterval(() => {
    try {
      store.rateBuckets.purge(Date.now() - BUCKET_KEEP_MS);
    } catch {
      // The database is unreachable this minute: the next round purges.
    }
  }, 60_000);
  purge.unref();
  return {
    buckets: (name, c) => {
      const perMs = c.perSecond / 1000;
      return { take: (key, nowMs) => store.rateBuckets.take(name, key, nowMs, c.burst, perMs) };
    },
  };
}
