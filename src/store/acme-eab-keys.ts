import type { Db } from './sql.ts';
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
  max_accounts: number | null;
  bound_count: number;
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
  maxAccounts: r.max_accounts,
  boundCount: r.bound_count,
});

/** External account binding keys (RFC 8555 §7.3.4) with their issuance scopes. */
export class AcmeEabKeyRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  insert(k: EabKeyRecord): void {
    this.#sql
      .get('INSERT INTO acme_eab_keys (kid, label, hmac_key, scopes, status, account_id, created_at, expires_at, max_accounts, bound_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(k.kid, k.label, Buffer.from(k.sealedKey), JSON.stringify(k.scopes), k.status, k.accountId, k.createdAt.getTime(), k.expiresAt?.getTime() ?? null, k.maxAccounts, k.boundCount);
  }

  get(kid: string): EabKeyRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_eab_keys WHERE kid = ?').get(kid) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  list(): EabKeyRecord[] {
    return (this.#sql.get('SELECT * FROM acme_eab_keys ORDER BY created_at, kid').all() as Row[]).map(toRecord);
  }

  /**
   * Binds one more account to an active key under its account limit (one, or a fleet key's
   * max_accounts): a compare-and-set inside the caller's transaction, so concurrent bindings never
   * exceed it. account_id keeps the first account. False if the key is used up or was revoked meanwhile.
   */
  bind(kid: string, accountId: string): boolean {
    return (
      this.#sql
        .get(
          `UPDATE acme_eab_keys SET bound_count = bound_count + 1, account_id = COALESCE(account_id, ?)
           WHERE kid = ? AND status = 'active' AND bound_count < COALESCE(max_accounts, 1)`,
        )
        .run(accountId, kid).changes === 1
    );
  }

  revoke(kid: string): boolean {
    return this.#sql.get(`UPDATE acme_eab_keys SET status = 'revoked' WHERE kid = ? AND status = 'active'`).run(kid).changes === 1;
  }
}
