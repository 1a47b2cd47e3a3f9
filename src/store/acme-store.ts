import { AuditRepository } from './audit.ts';
import { Repositories, type Db } from './sqlite.ts';
import { AcmeAccountRepository } from './acme-accounts.ts';
import { AcmeEabKeyRepository } from './acme-eab-keys.ts';
import { AcmeNonceRepository } from './acme-nonces.ts';
import { AcmeOrderRepository } from './acme-orders.ts';

/** The ACME tables of the instance database (migration 003), one repository per aggregate. */
export class AcmeStore extends Repositories {
  readonly accounts: AcmeAccountRepository;
  readonly orders: AcmeOrderRepository;
  readonly eabKeys: AcmeEabKeyRepository;
  readonly nonces: AcmeNonceRepository;
  /** The audit trail, on this connection so a row commits with the change it records. */
  readonly audit: AuditRepository;

  constructor(db: Db) {
    super(db);
    this.accounts = new AcmeAccountRepository(db);
    this.orders = new AcmeOrderRepository(db);
    this.eabKeys = new AcmeEabKeyRepository(db);
    this.nonces = new AcmeNonceRepository(db);
    this.audit = new AuditRepository(db);
  }
}
