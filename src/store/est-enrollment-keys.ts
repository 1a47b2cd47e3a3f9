import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** An EST enrollment key (migration 010); the secret only ever sealed. */
export interface EnrollmentKeyRecord {
  id: string;
  label: string;
  sealedSecret: Uint8Array;
  scopes: string[];
  status: 'active' | 'revoked';
  /** null = unlimited. */
  maxUses: number | null;
  uses: number;
  expiresAt: Date | null;
  createdAt: Date;
}

interface Row {
  id: string;
  label: string;
  secret: Buffer;
  scopes: string;
  status: 'active' | 'revoked';
  max_uses: number | null;
  uses: number;
  expires_at: number | null;
  created_at: number;
}

const toRecord = (r: Row): EnrollmentKeyRecord => ({
  id: r.id,
  label: r.label,
  sealedSecret: new Uint8Array(r.secret),
  scopes: JSON.parse(r.scopes) as string[],
  status: r.status,
  maxUses: r.max_uses,
  uses: r.uses,
  expiresAt: r.expires_at === null ? null : new Date(r.expires_at),
  createdAt: new Date(r.created_at),
});

/** EST enrollment keys: HTTP Basic bootstrap credentials bound to scopes. */
export class EnrollmentKeyRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  insert(k: EnrollmentKeyRecord): void {
    this.#sql
      .get('INSERT INTO est_enrollment_keys (id, label, secret, scopes, status, max_uses, uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(k.id, k.label, Buffer.from(k.sealedSecret), JSON.stringify(k.scopes), k.status, k.maxUses, k.uses, k.expiresAt?.getTime() ?? null, k.createdAt.getTime());
  }

  get(id: string): EnrollmentKeyRecord | null {
    const r = this.#sql.get('SELECT * FROM est_enrollment_keys WHERE id = ?').get(id) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  list(): EnrollmentKeyRecord[] {
    return (this.#sql.get('SELECT * FROM est_enrollment_keys ORDER BY created_at, id').all() as Row[]).map(toRecord);
  }

  /** Takes one use of an active key under its limit (a compare-and-set: concurrent enrollments never exceed max_uses). */
  takeUse(id: string): boolean {
    return this.#sql.get(`UPDATE est_enrollment_keys SET uses = uses + 1 WHERE id = ? AND status = 'active' AND (max_uses IS NULL OR uses < max_uses)`).run(id).changes === 1;
  }

  /** Gives back a use taken for an enrollment that issued nothing (its CSR was refused). */
  returnUse(id: string): void {
    this.#sql.get('UPDATE est_enrollment_keys SET uses = uses - 1 WHERE id = ? AND uses > 0').run(id);
  }

  revoke(id: string): boolean {
    return this.#sql.get(`UPDATE est_enrollment_keys SET status = 'revoked' WHERE id = ? AND status = 'active'`).run(id).changes === 1;
  }
}
