import type { CertRecord } from '../domain/types.ts';
import { toRecord, type CertRow } from './certificates.ts';
import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** Where a certificate stands in a chain of renewals (migration 009). */
export interface Lineage {
  /** The serial this certificate replaced (renewal by the current certificate), or null. */
  replaces: string | null;
  /** When the chain began: the issuance that last rested on a fresh authorization. */
  start: Date;
  /** SHA-256 (hex) of the certificate's SubjectPublicKeyInfo: a renewal's new key must differ. */
  publicKeySha256: string;
}

interface LineageRow {
  replaces: string | null;
  lineage_start: number | null;
  created_at: number;
  public_key_sha256: string;
}

const lineageOf = (r: LineageRow): Lineage => ({ replaces: r.replaces, start: new Date((r.lineage_start ?? r.created_at) * 1000), publicKeySha256: r.public_key_sha256 });

/** The renewal lineage columns of `certificates`: written with the `valid` row (CertificateRepository.markValid), read before a renewal. */
export class CertificateLineageRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  get(serial: string): Lineage | null {
    const r = this.#sql.get('SELECT replaces, lineage_start, created_at, public_key_sha256 FROM certificates WHERE serial = ?').get(serial) as LineageRow | undefined;
    return r ? lineageOf(r) : null;
  }

  /** The certificate and its lineage in one read (a renewal needs both: one primary-key lookup, one read transaction). */
  current(serial: string): { record: CertRecord; lineage: Lineage } | null {
    const r = this.#sql.get('SELECT * FROM certificates WHERE serial = ?').get(serial) as (CertRow & LineageRow) | undefined;
    return r ? { record: toRecord(r), lineage: lineageOf(r) } : null;
  }

  /** Serials issued as renewals of `serial` (normally zero or one). */
  replacementsOf(serial: string): string[] {
    return (this.#sql.get('SELECT serial FROM certificates WHERE replaces = ? ORDER BY created_at').all(serial) as { serial: string }[]).map((r) => r.serial);
  }
}
