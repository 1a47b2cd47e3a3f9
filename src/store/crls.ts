import type { Db } from './sql.ts';

export interface StoredCrl {
  issuer: string;
  shard: number;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  der: Uint8Array;
}

interface Row {
  issuer: string;
  shard: number;
  number: number;
  this_update: number;
  next_update: number;
  entries: number;
  der: Buffer;
}

/** A revoked certificate as a CRL lists it. */
export interface RevokedEntry {
  serial: string;
  revokedAt: number; // unix seconds
  reason: number | null;
}

const toRecord = (r: Row): StoredCrl => ({
  issuer: r.issuer,
  shard: r.shard,
  number: BigInt(r.number),
  thisUpdate: new Date(r.this_update * 1000),
  nextUpdate: new Date(r.next_update * 1000),
  entries: r.entries,
  der: new Uint8Array(r.der.buffer, r.der.byteOffset, r.der.byteLength),
});

/** Every SQL statement about CRLs and the revoked list they are built from. */
export class CrlRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  /** The next CRL Number for an issuer: one more than any it ever used (call inside the transaction that stores it). */
  nextNumber(issuer: string): bigint {
    const r = this.#db.prepare('SELECT max(number) AS n FROM crls WHERE issuer = ?').get(issuer) as { n: number | null };
    return BigInt(r.n ?? 0) + 1n;
  }

  /** Stores a CRL and keeps only the few newest per shard (the numbers stay monotonic: the newest is never pruned). */
  add(c: StoredCrl, keep = 3): void {
    this.#db
      .prepare('INSERT INTO crls (issuer, shard, number, this_update, next_update, entries, der) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.issuer, c.shard, c.number, sec(c.thisUpdate), sec(c.nextUpdate), c.entries, Buffer.from(c.der));
    this.#db
      .prepare('DELETE FROM crls WHERE issuer = ? AND shard = ? AND number NOT IN (SELECT number FROM crls WHERE issuer = ? AND shard = ? ORDER BY number DESC LIMIT ?)')
      .run(c.issuer, c.shard, c.issuer, c.shard, keep);
  }

  latest(issuer: string, shard: number): StoredCrl | null {
    const row = this.#db.prepare('SELECT * FROM crls WHERE issuer = ? AND shard = ? ORDER BY number DESC LIMIT 1').get(issuer, shard) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  /**
   * Revoked certificates of an issuer still worth listing (notAfter after `notAfterSince`), in serial order,
   * streamed so that a million-entry CRL never holds all rows as objects.
   */
  *revoked(issuer: string, notAfterSince: Date): IterableIterator<RevokedEntry> {
    const stmt = this.#db
      .prepare(`SELECT serial, revoked_at, reason FROM certificates WHERE issuer = ? AND status = 'revoked' AND not_after > ? ORDER BY serial`)
      .raw(true);
    for (const [serial, revokedAt, reason] of stmt.iterate(issuer, sec(notAfterSince)) as IterableIterator<[string, number, number | null]>) {
      yield { serial, revokedAt, reason };
    }
  }
}

const sec = (d: Date) => Math.floor(d.getTime() / 1000);
