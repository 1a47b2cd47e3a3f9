import type { Db } from './sql.ts';

export interface OcspResponderRecord {
  serial: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  createdAt: Date;
}

/** The delegated OCSP signing certificates that were issued (their keys are never stored). */
export class OcspResponderRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  add(r: OcspResponderRecord): void {
    this.#db
      .prepare('INSERT INTO ocsp_responders (serial, issuer, not_before, not_after, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(r.serial, r.issuer, sec(r.notBefore), sec(r.notAfter), sec(r.createdAt));
  }

  list(issuer: string): OcspResponderRecord[] {
    const rows = this.#db.prepare('SELECT * FROM ocsp_responders WHERE issuer = ? ORDER BY created_at').all(issuer) as {
      serial: string;
      issuer: string;
      not_before: number;
      not_after: number;
      created_at: number;
    }[];
    return rows.map((r) => ({ serial: r.serial, issuer: r.issuer, notBefore: d(r.not_before), notAfter: d(r.not_after), createdAt: d(r.created_at) }));
  }
}

const sec = (x: Date) => Math.floor(x.getTime() / 1000);
const d = (s: number) => new Date(s * 1000);
