import { sqlFor, type Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/**
 * Token buckets kept in the database, so replicas share one bucket per limit and key (#22): a
 * client behind a round-robin balancer meets the same limit as against one replica. One statement
 * refills and takes a token; the refused case reads what is left to say how long to wait.
 */
export class RateBucketRepository {
  readonly #sql: StatementCache;
  readonly #least: string;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
    this.#least = sqlFor(db, { sqlite: 'min', postgres: 'LEAST' });
  }

  /** Takes a token from (name, key) at `nowMs`: 0 when allowed, else the whole seconds until one is available. */
  take(name: string, key: string, nowMs: number, burst: number, perMs: number): number {
    // Typed casts: PostgreSQL would otherwise infer the rate's type from the integer column beside it.
    const refilled = `${this.#least}(CAST(? AS DOUBLE PRECISION), rate_buckets.tokens + (CAST(? AS BIGINT) - rate_buckets.updated_at) * CAST(? AS DOUBLE PRECISION))`;
    const took = this.#sql
      .get(
        `INSERT INTO rate_buckets (name, key, tokens, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, key) DO UPDATE SET tokens = ${refilled} - 1, updated_at = excluded.updated_at
         WHERE ${refilled} >= 1`,
      )
      .run(name, key, burst - 1, nowMs, burst, nowMs, perMs, burst, nowMs, perMs).changes;
    if (took === 1) return 0;
    const row = this.#sql.get('SELECT tokens, updated_at FROM rate_buckets WHERE name = ? AND key = ?').get(name, key) as { tokens: number; updated_at: number } | undefined;
    const tokens = row ? Math.min(burst, row.tokens + (nowMs - row.updated_at) * perMs) : 0;
    return Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
  }

  /** Drops buckets untouched since `beforeMs` (full again by then): the table holds only recent keys. */
  purge(beforeMs: number): number {
    return this.#sql.get('DELETE FROM rate_buckets WHERE updated_at < ?').run(beforeMs).changes;
  }
}
