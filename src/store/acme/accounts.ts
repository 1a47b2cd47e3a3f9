import type { Db } from '../sqlite.ts';
import { StatementCache } from '../statements.ts';
import type { AccountRecord, AccountStatus } from './records.ts';

interface Row {
  id: string;
  thumbprint: string;
  jwk: string;
  contact: string;
  status: AccountStatus;
  eab_kid: string | null;
  created_at: number;
}

const toRecord = (r: Row): AccountRecord => ({
  id: r.id,
  thumbprint: r.thumbprint,
  jwk: JSON.parse(r.jwk) as Record<string, unknown>,
  contact: JSON.parse(r.contact) as string[],
  status: r.status,
  eabKid: r.eab_kid,
  createdAt: new Date(r.created_at),
});

/** ACME accounts (RFC 8555 §7.1.2), keyed by id and by the thumbprint of their key. */
export class AcmeAccountRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  insert(a: AccountRecord): void {
    this.#sql
      .get('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(a.id, a.thumbprint, JSON.stringify(a.jwk), JSON.stringify(a.contact), a.status, a.eabKid, a.createdAt.getTime());
  }

  get(id: string): AccountRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_accounts WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  byThumbprint(thumbprint: string): AccountRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_accounts WHERE thumbprint = ?').get(thumbprint) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  updateContact(id: string, contact: string[]): void {
    this.#sql.get('UPDATE acme_accounts SET contact = ? WHERE id = ?').run(JSON.stringify(contact), id);
  }

  setStatus(id: string, status: AccountStatus): void {
    this.#sql.get('UPDATE acme_accounts SET status = ? WHERE id = ?').run(status, id);
  }

  /** keyChange (§7.3.5): false when another account already uses the new key (UNIQUE thumbprint). */
  replaceKey(id: string, oldThumbprint: string, jwk: Record<string, unknown>, thumbprint: string): boolean {
    try {
      const r = this.#sql
        .get('UPDATE acme_accounts SET jwk = ?, thumbprint = ? WHERE id = ? AND thumbprint = ?')
        .run(JSON.stringify(jwk), thumbprint, id, oldThumbprint);
      return r.changes === 1;
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
      throw e;
    }
  }
}
