import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** This process among replicas: what its leases are held as (host, pid and a random tail, never reused). */
export const THIS_REPLICA = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Leases on background work shared by replicas (#22): a CRL shard's build, a partition of OCSP
 * pre-signing. One statement takes a lease that is free, expired or already the caller's, so two
 * replicas never both hold it; a holder that dies stops renewing and the lease lapses at its expiry.
 */
export class LeaseRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  /** Takes or renews `name` for `holder` until `nowMs + ttlMs`; false when another holder's lease is still running. */
  acquire(name: string, holder: string, nowMs: number, ttlMs: number): boolean {
    return (
      this.#sql
        .get(
          `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
        )
        .run(name, holder, nowMs + ttlMs, nowMs).changes === 1
    );
  }

  /** Gives `name` up at once (work done), if `holder` still has it. */
  release(name: string, holder: string): void {
    this.#sql.get('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  /** Unexpired leases whose name starts with `prefix`, with their holders. */
  held(prefix: string, nowMs: number): { name: string; holder: string }[] {
    return this.#sql
      .get('SELECT name, holder FROM leases WHERE substr(name, 1, CAST(? AS INTEGER)) = ? AND expires_at > ? ORDER BY name')
      .all(prefix.length, prefix, nowMs) as { name: string; holder: string }[];
  }

  holderOf(name: string, nowMs: number): string | null {
    return (this.#sql.get('SELECT holder FROM leases WHERE name = ? AND expires_at > ?').pluck().get(name, nowMs) as string | undefined) ?? null;
  }
}
