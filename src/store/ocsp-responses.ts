import { sqlFor, type Db } from './sql.ts';
import { StatementCache } from './statements.ts';
import { immediateTransactions } from './sqlite.ts';

export type OcspCertStatus = 'good' | 'revoked';

/** One stored, pre-signed OCSP response. */
export interface StoredOcspResponse {
  serial: string;
  certStatus: OcspCertStatus;
  thisUpdate: Date;
  nextUpdate: Date;
  responder: string;
  der: Uint8Array;
  seq: number;
}

interface Row {
  serial: string;
  cert_status: OcspCertStatus;
  this_update: number;
  next_update: number;
  responder: string;
  der: Buffer;
  seq: number;
}

/** What `current` reads: the bytes to send and their validity. */
export interface ServableResponse {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** A certificate whose stored response is missing or no longer says what the certificate row says. */
export interface StaleStatus {
  serial: string;
  status: 'valid' | 'revoked';
  revokedAt: Date | null;
  reason: number | null;
  notAfter: Date;
  /** The status the stored response gives, if there is one. */
  storedStatus: OcspCertStatus | null;
}

const toRecord = (r: Row): StoredOcspResponse => ({
  serial: r.serial,
  certStatus: r.cert_status,
  thisUpdate: new Date(r.this_update * 1000),
  nextUpdate: new Date(r.next_update * 1000),
  responder: r.responder,
  der: new Uint8Array(r.der.buffer, r.der.byteOffset, r.der.byteLength),
  seq: r.seq,
});

/** Every SQL statement about pre-signed OCSP responses. */
export class OcspResponseRepository {
  readonly #sql: StatementCache;
  readonly #db: Db;
  /** One transaction wrapper built once (a fresh better-sqlite3 wrapper per write cost more than the insert). */
  readonly #transaction: <T>(fn: () => T) => T;
  constructor(db: Db) {
    this.#db = db;
    this.#sql = new StatementCache(db);
    this.#transaction = immediateTransactions(db);
  }

  /** Stores (replaces) the response for a serial; returns its new sequence number. */
  put(r: Omit<StoredOcspResponse, 'seq'>): number {
    return this.putMany([r]);
  }

  /** Writes responses in one transaction (a background re-sign writes a slice at a time); returns the last seq. */
  putMany(rows: readonly Omit<StoredOcspResponse, 'seq'>[]): number {
    // One transaction (a savepoint inside the caller's): the next seq is read and used under the
    // write lock, so seqs grow in commit order even with replicas writing (#22) and a follower
    // reading `writtenSince` never passes over a row committed later with a smaller seq.
    return this.#transaction(() => this.#put(rows));
  }

  #put(rows: readonly Omit<StoredOcspResponse, 'seq'>[]): number {
    let seq = (this.#sql.get('SELECT coalesce(max(seq), 0) AS s FROM ocsp_responses').get() as { s: number }).s;
    const insert = this.#sql.get(
      `INSERT INTO ocsp_responses (serial, cert_status, this_update, next_update, responder, der, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (serial) DO UPDATE SET cert_status = excluded.cert_status, this_update = excluded.this_update,
         next_update = excluded.next_update, responder = excluded.responder, der = excluded.der, seq = excluded.seq`,
    );
    for (const r of rows) insert.run(r.serial, r.certStatus, sec(r.thisUpdate), sec(r.nextUpdate), r.responder, Buffer.from(r.der), ++seq);
    return seq;
  }

  get(serial: string): StoredOcspResponse | null {
    const row = this.#sql.get('SELECT * FROM ocsp_responses WHERE serial = ?').get(serial) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /**
   * The response to serve for a serial at `now`: current, and saying what the certificate row
   * says (a revocation another process committed but nobody has re-signed yet gives null, so
   * the caller signs or asks the primary instead of serving "good"). The hot path of an OCSP
   * miss: one primary-key read of the response, and for a "good" one a probe of the revoked
   * part of certificates_inventory (covering: the certificate row, with its DER, is never read;
   * revocation is final, so "revoked" needs no probe). Only what is served is selected, as an
   * array (no row object).
   */
  current(serial: string, now: Date): ServableResponse | null {
    const row = this.#sql
      .get(
        `SELECT der, this_update, next_update FROM ocsp_responses r
         WHERE r.serial = ? AND r.next_update > ? AND (r.cert_status = 'revoked' OR NOT EXISTS (
           SELECT 1 FROM certificates c ${sqlFor(this.#db, { sqlite: 'INDEXED BY certificates_inventory', postgres: '' })} WHERE c.status = 'revoked' AND c.serial = r.serial))`,
      )
      .raw()
      .get(serial, sec(now)) as [Buffer, number, number] | undefined;
    return row ? { der: row[0], thisUpdate: new Date(row[1] * 1000), nextUpdate: new Date(row[2] * 1000) } : null;
  }

  /** The newest sequence number written (0 when none): where a follower starts. */
  lastSeq(): number {
    return (this.#sql.get('SELECT coalesce(max(seq), 0) AS s FROM ocsp_responses').get() as { s: number }).s;
  }

  /** Serials (and their seq) written after `seq`, in write order, at most `limit`: what a follower must forget. */
  writtenSince(seq: number, limit: number): { serial: string; seq: number }[] {
    return this.#sql.get('SELECT serial, seq FROM ocsp_responses WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as { serial: string; seq: number }[];
  }

  /** Serials whose response expires before `before`, for certificates that still need answers (not expired before `notAfterSince`). */
  dueForRefresh(before: Date, notAfterSince: Date, limit: number): string[] {
    return (
      this.#sql
        .get(
          `SELECT r.serial FROM ocsp_responses r JOIN certificates c ON c.serial = r.serial
           WHERE r.next_update <= ? AND c.not_after > ? ORDER BY r.next_update LIMIT ?`,
        )
        .all(sec(before), sec(notAfterSince), limit) as { serial: string }[]
    ).map((r) => r.serial);
  }

  /**
   * Certificates of `issuer` (valid or revoked, not expired before `notAfterSince`) with no response or a response of the wrong status.
   * Scans every live certificate of the issuer: for catching up at start, not for polling.
   */
  stale(issuer: string, notAfterSince: Date, limit: number): StaleStatus[] {
    const rows = this.#sql
      .get(
        `${STALE_COLUMNS}
         FROM certificates c LEFT JOIN ocsp_responses r ON r.serial = c.serial
         WHERE ${STALE_CONDITION}
         LIMIT ?`,
      )
      .all(issuer, sec(notAfterSince), limit) as StaleRow[];
    return rows.map(toStale);
  }

  /**
   * What `stale` says for one window of the issuer's certificates in serial order: the `window`
   * serials after `after` (keyset), so each step costs `window` key lookups however large the
   * table, and the caller can yield between steps. `last` is where the next window starts (null: done).
   */
  staleWindow(issuer: string, notAfterSince: Date, after: string, window: number): { stale: StaleStatus[]; last: string | null } {
    const serials = (this.#sql.get('SELECT serial FROM certificates WHERE serial > ? ORDER BY serial LIMIT ?').all(after, window) as { serial: string }[]).map((r) => r.serial);
    if (serials.length === 0) return { stale: [], last: null };
    const rows = this.#sql
      .get(
        `${STALE_COLUMNS}
         FROM certificates c LEFT JOIN ocsp_responses r ON r.serial = c.serial
         WHERE c.serial > ? AND c.serial <= ? AND ${STALE_CONDITION}`,
      )
      .all(after, serials[serials.length - 1]!, issuer, sec(notAfterSince)) as StaleRow[];
    return { stale: rows.map(toStale), last: serials.length < window ? null : serials[serials.length - 1]! };
  }

  /**
   * What `stale` says, for the given serials only (duplicates and unknown serials are fine): one
   * primary-key lookup per serial, so the cost follows the list, not the table. CROSS JOIN keeps
   * the list as the outer loop (SQLite never reorders it), whatever the statistics say.
   */
  staleAmong(issuer: string, serials: readonly string[], notAfterSince: Date): StaleStatus[] {
    if (serials.length === 0) return [];
    const rows = this.#sql
      .get(
        `${STALE_COLUMNS}
         FROM (SELECT DISTINCT value AS serial FROM ${sqlFor(this.#db, { sqlite: 'json_each(?)', postgres: 'jsonb_array_elements_text(?::jsonb) AS value' })}) s
           ${sqlFor(this.#db, { sqlite: 'CROSS JOIN', postgres: 'JOIN' })} certificates c ON c.serial = s.serial
           LEFT JOIN ocsp_responses r ON r.serial = c.serial
         WHERE ${STALE_CONDITION}`,
      )
      .all(JSON.stringify(serials), issuer, sec(notAfterSince)) as StaleRow[];
    return rows.map(toStale);
  }
}

/** What `stale` and `staleAmong` select, and the one rule both apply (certificate c, its stored response r; binds issuer, not_after). */
const STALE_COLUMNS = 'SELECT c.serial, c.status, c.revoked_at, c.reason, c.not_after, r.cert_status AS stored';
const STALE_CONDITION = `c.issuer = ? AND c.status IN ('valid', 'revoked') AND c.not_after > ?
           AND (r.serial IS NULL OR (c.status = 'revoked') <> (r.cert_status = 'revoked'))`;

interface StaleRow {
  serial: string;
  status: 'valid' | 'revoked';
  revoked_at: number | null;
  reason: number | null;
  not_after: number;
  stored: OcspCertStatus | null;
}

const toStale = (r: StaleRow): StaleStatus => ({
  serial: r.serial,
  status: r.status,
  revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at * 1000),
  reason: r.reason,
  notAfter: new Date(r.not_after * 1000),
  storedStatus: r.stored,
});

const sec = (d: Date) => Math.floor(d.getTime() / 1000);
