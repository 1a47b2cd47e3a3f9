import type { CertRecord } from '../domain/types.ts';
import { sqlFor, type Db } from './sql.ts';
import { StatementCache } from './statements.ts';
import { toRecord, type CertRow } from './certificates.ts';

/** A certificate as the inventory lists it: the DER only when asked for. */
export type CertListing = Omit<CertRecord, 'der'> & { der?: Uint8Array };

export type ListStatus = 'valid' | 'revoked' | 'expired' | 'pending' | 'failed';

export interface PageQuery {
  status?: ListStatus;
  /** Only valid certificates whose notAfter falls after `now` and before this instant. */
  expiringBefore?: Date;
  now: Date;
  /** Keyset: serials strictly after this one (the last of the previous page). */
  after?: string;
  limit: number;
  withDer?: boolean;
}

export interface CertStats {
  live: number;
  expiring: number;
  expired: number;
  revoked: number;
  pending: number;
  failed: number;
  byProfile: { profile: string; live: number; expiring: number; revoked: number }[];
}

/** A row as listed: every column but the DER unless it was asked for. */
type Row = Omit<CertRow, 'der'> & { der?: Buffer | null };

const COLUMNS = 'serial, issuer, subject, sans, profile, not_before, not_after, status, revoked_at, reason, created_at';
const sec = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * Inventory reads that stay fast at a million certificates: pages in serial order by keyset
 * (`serial > after`), never reading the DER unless asked, and counts by aggregate SQL over the
 * certificates_inventory index (migration 013), so neither sorts nor loads the table.
 */
export class CertificateInventory {
  readonly #sql: StatementCache;
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
    this.#sql = new StatementCache(db);
  }

  /** One page in serial order (at most `limit` rows). */
  page(q: PageQuery): CertListing[] {
    const where: string[] = ['serial > ?'];
    const args: (string | number)[] = [q.after ?? ''];
    const now = sec(q.now);
    // Every status filter names `status =` so the inventory index serves it in serial order.
    switch (q.status) {
      case 'valid':
        where.push(`status = 'valid' AND not_after > ?`);
        args.push(now);
        break;
      case 'expired':
        where.push(`status = 'valid' AND not_after <= ?`);
        args.push(now);
        break;
      case 'revoked':
      case 'pending':
      case 'failed':
        where.push('status = ?');
        args.push(q.status);
        break;
    }
    if (q.expiringBefore) {
      where.push(`status = 'valid' AND not_after > ? AND not_after <= ?`);
      args.push(now, sec(q.expiringBefore));
    }
    const sql = `SELECT ${COLUMNS}${q.withDer ? ', der' : ''} FROM certificates WHERE ${where.join(' AND ')} ORDER BY serial LIMIT ?`;
    args.push(q.limit);
    return (this.#sql.get(sql).all(...args) as Row[]).map(toListing);
  }

  /** Counts by status, live ones expiring before `expiringBefore`, and per profile. */
  stats(now: Date, expiringBefore: Date): CertStats {
    // Positional parameters and FILTER: one text for SQLite and PostgreSQL; the index hint is SQLite's.
    const count = (condition: string) => `count(*) FILTER (WHERE ${condition})`;
    const rows = this.#sql
      .get(
        `SELECT profile,
           ${count("status = 'valid' AND not_after > ?")} AS live,
           ${count("status = 'valid' AND not_after > ? AND not_after <= ?")} AS expiring,
           ${count("status = 'valid' AND not_after <= ?")} AS expired,
           ${count("status = 'revoked'")} AS revoked, ${count("status = 'pending'")} AS pending, ${count("status = 'failed'")} AS failed
         FROM certificates ${sqlFor(this.#db, { sqlite: 'INDEXED BY certificates_inventory', postgres: '' })} GROUP BY profile ORDER BY profile`,
      )
      .all(sec(now), sec(now), sec(expiringBefore), sec(now)) as ({ profile: string } & Record<'live' | 'expiring' | 'expired' | 'revoked' | 'pending' | 'failed', number>)[];
    const total = (k: 'live' | 'expiring' | 'expired' | 'revoked' | 'pending' | 'failed') => rows.reduce((n, r) => n + r[k], 0);
    return {
      live: total('live'),
      expiring: total('expiring'),
      expired: total('expired'),
      revoked: total('revoked'),
      pending: total('pending'),
      failed: total('failed'),
      byProfile: rows.map((r) => ({ profile: r.profile, live: r.live, expiring: r.expiring, revoked: r.revoked })),
    };
  }
}

function toListing(r: Row): CertListing {
  const { der, ...rest } = toRecord({ ...r, der: r.der ?? null });
  return der ? { ...rest, der } : rest;
}
