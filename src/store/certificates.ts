import { CaError } from '../domain/errors.ts';
import type { CertRecord, CertStatus } from '../domain/types.ts';
import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

export interface CertRow {
  serial: string;
  issuer: string;
  subject: string;
  sans: string;
  profile: string;
  not_before: number;
  not_after: number;
  status: CertStatus;
  revoked_at: number | null;
  reason: number | null;
  der: Buffer | null;
  created_at: number;
}

const toSeconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function toRecord(r: CertRow): CertRecord {
  return {
    serial: r.serial,
    issuer: r.issuer,
    subject: r.subject,
    sans: JSON.parse(r.sans) as string[],
    profile: r.profile,
    notBefore: new Date(r.not_before * 1000),
    notAfter: new Date(r.not_after * 1000),
    status: r.status,
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at * 1000),
    reason: r.reason,
    der: r.der === null ? null : new Uint8Array(r.der),
    createdAt: new Date(r.created_at * 1000),
  };
}

/** Every SQL statement about certificates. */
export class CertificateRepository {
  readonly #statements: StatementCache;
  constructor(db: Db) {
    this.#statements = new StatementCache(db);
  }

  /**
   * Phase one of issuance: reserve the serial before anything is signed. A serial already present
   * is CaError 'conflict'. ON CONFLICT DO NOTHING rather than a caught key violation: on PostgreSQL
   * a failed statement aborts the whole transaction, so the caller could not carry on after it.
   */
  reserve(p: { serial: string; issuer: string; subject: string; sans: string[]; profile: string; notBefore: Date; notAfter: Date; publicKeySha256: string; now: Date }): void {
    const r = this.#statements
      .get(
        `INSERT INTO certificates (serial, issuer, subject, sans, profile, not_before, not_after, status, public_key_sha256, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (serial) DO NOTHING`,
      )
      .run(p.serial, p.issuer, p.subject, JSON.stringify(p.sans), p.profile, toSeconds(p.notBefore), toSeconds(p.notAfter), p.publicKeySha256, toSeconds(p.now));
    if (r.changes !== 1) throw new CaError('conflict', `serial ${p.serial} already exists`);
  }

  /**
   * Phase two: the signed DER is stored and the row becomes `valid`; a renewal by the current
   * certificate also records, in the same statement, the serial it replaces and when its lineage
   * began (migration 009; NULL otherwise, as the reservation left them).
   */
  markValid(serial: string, der: Uint8Array, renewal?: { replaces: string; lineageStart: Date }): void {
    const r = this.#statements
      .get(`UPDATE certificates SET status = 'valid', der = ?, replaces = ?, lineage_start = ? WHERE serial = ? AND status = 'pending'`)
      .run(Buffer.from(der), renewal?.replaces ?? null, renewal ? toSeconds(renewal.lineageStart) : null, serial);
    if (r.changes !== 1) throw new CaError('internal', `serial ${serial} was not pending when its certificate was stored`);
  }

  /** Serials reserved before `before` that never got their DER: left behind by a crash between reserve and store. */
  listStalePending(before: Date): string[] {
    return (this.#statements.get(`SELECT serial FROM certificates WHERE status = 'pending' AND created_at < ? ORDER BY created_at`).all(toSeconds(before)) as { serial: string }[]).map(
      (r) => r.serial,
    );
  }

  /** Signing did not happen (refused or failed before a signature existed). */
  markFailed(serial: string): void {
    this.#statements.get(`UPDATE certificates SET status = 'failed' WHERE serial = ? AND status = 'pending'`).run(serial);
  }

  /** Marks a valid certificate revoked; returns false when it was not `valid` (already revoked, pending, unknown). */
  revoke(serial: string, at: Date, reason: number): boolean {
    const r = this.#statements.get(`UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ? WHERE serial = ? AND status = 'valid'`)
      .run(toSeconds(at), reason, serial);
    return r.changes === 1;
  }

  get(serial: string): CertRecord | null {
    const row = this.#statements.get('SELECT * FROM certificates WHERE serial = ?').get(serial) as CertRow | undefined;
    return row ? toRecord(row) : null;
  }

  // Listing lives in certificate-inventory.ts: keyset pages without the DER (#21).

  countByStatus(): Record<string, number> {
    const rows = this.#statements.get('SELECT status, count(*) AS n FROM certificates GROUP BY status').all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
