import { AuditRepository } from './audit.ts';
import { CertificateLineageRepository } from './certificate-lineage.ts';
import { CertificateRepository } from './certificates.ts';
import { EnrollmentKeyRepository } from './est-enrollment-keys.ts';
import { Repositories, type Db } from './sqlite.ts';

/** What EST (RFC 7030) reads and writes besides issuing: enrollment keys, the certificates it renews, the audit trail. */
export class EstStore extends Repositories {
  readonly enrollmentKeys: EnrollmentKeyRepository;
  readonly certificates: CertificateRepository;
  readonly lineage: CertificateLineageRepository;
  /** On this connection so a row commits with the change it records. */
  readonly audit: AuditRepository;

  constructor(db: Db) {
    super(db);
    this.enrollmentKeys = new EnrollmentKeyRepository(db);
    this.certificates = new CertificateRepository(db);
    this.lineage = new CertificateLineageRepository(db);
    this.audit = new AuditRepository(db);
  }
}
