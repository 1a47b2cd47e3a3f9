import { dialectOf, isUniqueViolation, type Db } from './sql.ts';
import { StatementCache } from './statements.ts';
import type { AccountRecord, AccountStatus } from './acme-records.ts';

interface Row {
  id: string;
  thumbprint: string;
  jwk: string;
  contact: string;
  status: AccountStatus;
  eab_kid: string | null;
  eab_binding: string | null;
  created_at: number;
}

const freeze = (a: AccountRecord): AccountRecord => {
  Object.freeze(a.jwk);
  Object.freeze(a.contact);
  if (a.eabBinding) Object.freeze(a.eabBinding);
  return Object.freeze(a);
};

const toRecord = (r: Row): AccountRecord => ({
  id: r.id,
  thumbprint: r.thumbprint,
  jwk: JSON.parse(r.jwk) as Record<string, unknown>,
  contact: JSON.parse(r.contact) as string[],
  status: r.status,
  eabKid: r.eab_kid,
  eabBinding: r.eab_binding === null ? null : (JSON.parse(r.eab_binding) as Record<string, unknown>),
  createdAt: new Date(r.created_at),
});

/** Accounts kept in memory by id; past this many the oldest is dropped. */
const CACHED_ACCOUNTS = 10_000;

/**
 * ACME accounts (RFC 8555 §7.1.2), keyed by id and by the thumbprint of their key.
 * Every kid-signed request reads its account, so `get` answers from memory: only this
 * repository writes acme_accounts (the CLI never does), each write drops the cached record,
 * and a record is cached only when read outside a transaction, so a rolled-back write can
 * never leave its uncommitted state in the cache. Cached records are frozen: read-only.
 * Replicas on PostgreSQL (#22) share the table: another replica may deactivate an account or
 * change its key, so the cache is dropped whenever the database tells a change to acme_accounts was
 * committed anywhere (NOTIFY, `tableVersion`), and this one sees it on its next request.
 */
export class AcmeAccountRepository {
  readonly #sql: StatementCache;
  readonly #db: Db;
  readonly #byId = new Map<string, AccountRecord>();
  readonly #cacheable: boolean;
  #version = -1;
  constructor(db: Db) {
    this.#db = db;
    this.#cacheable = dialectOf(db) === 'sqlite' || typeof db.tableVersion === 'function';
    this.#sql = new StatementCache(db);
  }

  insert(a: AccountRecord): void {
    this.#sql
      .get('INSERT INTO acme_accounts (id, thumbprint, jwk, contact, status, eab_kid, eab_binding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(a.id, a.thumbprint, JSON.stringify(a.jwk), JSON.stringify(a.contact), a.status, a.eabKid, a.eabBinding === null ? null : JSON.stringify(a.eabBinding), a.createdAt.getTime());
  }

  get(id: string): AccountRecord | null {
    const version = this.#db.tableVersion?.('acme_accounts');
    if (version !== undefined && version !== this.#version) {
      this.#byId.clear();
      this.#version = version;
    }
    const cached = this.#byId.get(id);
    if (cached) return cached;
    const r = this.#sql.get('SELECT * FROM acme_accounts WHERE id = ?').get(id) as Row | undefined;
    if (!r) return null;
    const record = freeze(toRecord(r));
    if (this.#cacheable && !this.#db.inTransaction) {
      if (this.#byId.size >= CACHED_ACCOUNTS) this.#byId.delete(this.#byId.keys().next().value!);
      this.#byId.set(id, record);
    }
    return record;
  }

  byThumbprint(thumbprint: string): AccountRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_accounts WHERE thumbprint = ?').get(thumbprint) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  updateContact(id: string, contact: string[]): void {
    this.#byId.delete(id);
    this.#sql.get('UPDATE acme_accounts SET contact = ? WHERE id = ?').run(JSON.stringify(contact), id);
  }

  setStatus(id: string, status: AccountStatus): void {
    this.#byId.delete(id);
    this.#sql.get('UPDATE acme_accounts SET status = ? WHERE id = ?').run(status, id);
  }

  /**
   * keyChange (§7.3.5): false when another account already uses the new key (UNIQUE thumbprint).
   * The NOT EXISTS answers that without a key violation, which on PostgreSQL would abort the
   * caller's transaction; the catch is for a racing writer outside one.
   */
  replaceKey(id: string, oldThumbprint: string, jwk: Record<string, unknown>, thumbprint: string): boolean {
    this.#byId.delete(id);
    try {
      // A savepoint of its own: on PostgreSQL a failed statement spoils the rest of its
      // transaction, so the refusal must undo only this update, as it does on SQLite.
      const r = this.#db
        .transaction(() => this.#sql.get('UPDATE acme_accounts SET jwk = ?, thumbprint = ? WHERE id = ? AND thumbprint = ?').run(JSON.stringify(jwk), thumbprint, id, oldThumbprint))
        .immediate();
      return r.changes === 1;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }
}
