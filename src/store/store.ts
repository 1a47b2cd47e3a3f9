import { AuditRepository } from './audit.ts';
import { CertificateRepository } from './certificates.ts';
import { CrlRepository } from './crls.ts';
import { OcspResponderRepository } from './ocsp-responders.ts';
import { OcspResponseRepository } from './ocsp-responses.ts';
import { openDatabase, type Db } from './sqlite.ts';

/** The instance database: one repository per aggregate, and transactions that span them. */
export class Store {
  readonly db: Db;
  readonly certificates: CertificateRepository;
  readonly audit: AuditRepository;
  readonly ocspResponses: OcspResponseRepository;
  readonly ocspResponders: OcspResponderRepository;
  readonly crls: CrlRepository;

  constructor(db: Db) {
    this.db = db;
    this.certificates = new CertificateRepository(db);
    this.audit = new AuditRepository(db);
    this.ocspResponses = new OcspResponseRepository(db);
    this.ocspResponders = new OcspResponderRepository(db);
    this.crls = new CrlRepository(db);
  }

  /** Runs `fn` in one IMMEDIATE transaction (takes the write lock up front, so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export function openStore(path: string, opts: { create?: boolean } = {}): Store {
  return new Store(openDatabase(path, opts));
}
