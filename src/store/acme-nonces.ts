import type { Db } from './sql.ts';

/** Spent ACME nonces, kept until they would have expired anyway, so a restart cannot make one reusable. */
export class AcmeNonceRepository {
  readonly #db: Db;
  readonly #spend: import('./sql.ts').SqlStatement;
  constructor(db: Db) {
    this.#db = db;
    this.#spend = db.prepare('INSERT INTO acme_spent_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING');
  }

  /** Records the nonce as spent; false when it already was. */
  spend(nonce: string, expiresAt: number): boolean {
    return this.#spend.run(nonce, expiresAt).changes === 1;
  }

  purgeExpired(now: number): number {
    return this.#db.prepare('DELETE FROM acme_spent_nonces WHERE expires_at < ?').run(now).changes;
  }
}
