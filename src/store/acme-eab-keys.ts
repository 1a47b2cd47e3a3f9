import type { Db } from './sqlite.ts';
import { StatementCache } from './statements.ts';
import type { EabKeyRecord } from './acme-records.ts';

interface Row {
  kid: string;
  label: string;
  hmac_key: Buffer;
  scopes: string;
  status: 'active' | 'revoked';
  account_id: string | null;
  created_at: number;
  expires_at: number | null;
}

const toRecord = (r: Row): EabKeyRecord => ({
  kid: r.kid,
  label: r.label,
  sealedKey: new Uint8Array(r.hmac_key),
  scopes: JSON.parse(r.scopes) as string[],
  status: r.status,
  accountId: r.account_id,
  createdAt: new Date(r.created_at),
  expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
});

/** External account binding keys (RFC 8555 §7.3.4) with their issuance scopes. */
export class AcmeEabKeyRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  insert(k: EabKeyRecord): void {
    this.#sql
      .get('INSERT INTO acme_eab_keys (kid, label, hmac_key, scopes, status, account_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(k.kid, k.label, Buffer.from(k.sealedKey), JSON.stringify(k.scopes), k.status, k.accountId, k.createdAt.getTime(), k.expiresAt?.getTime() ?? null);
  }

  get(kid: string): EabKeyRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_eab_keys WHERE kid = ?').get(kid) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  list(): EabKeyRecord[] {
    return (this.#sql.get('SELECT * FROM acme_eab_keys ORDER BY created_at, kid').all() as Row[]).map(toRecord);
  }

  /** Binds an unbound, active key to an account; false if it was bound or revoked meanwhile. */
  bind(kid: string, accountId: string): boolean {
    return this.#sql.get(`UPDATE acme_eab_keys SET account_id = ? WHERE kid = ? AND account_id IS NULL AND status = 'active'`).run(accountId, kid).changes === 1;
  }

  revoke(kid: string): boolean {
    return this.#sql.get(`UPDATE acme_eab_keys SET status = 'revoked' WHERE kid = ? AND status = 'active'`).run(kid).changes === 1;
  }
}
