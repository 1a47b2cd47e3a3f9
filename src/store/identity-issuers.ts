import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** A trusted JWT issuer as stored (migration 011); the template is kept as its JSON text. */
export interface IdentityIssuerRecord {
  issuer: string;
  audience: string;
  /** A JWKS document given as a file, or null when keys come from `jwksUrl`. */
  jwks: string | null;
  jwksUrl: string | null;
  /** PEM CA certificates the JWKS URL's server is verified against, or null for the system roots. */
  jwksCa: string | null;
  template: string;
  maxLifetimeMs: number;
  createdAt: Date;
}

interface Row {
  issuer: string;
  audience: string;
  jwks: string | null;
  jwks_url: string | null;
  jwks_ca: string | null;
  template: string;
  max_lifetime_ms: number;
  created_at: number;
}

const toRecord = (r: Row): IdentityIssuerRecord => ({
  issuer: r.issuer,
  audience: r.audience,
  jwks: r.jwks,
  jwksUrl: r.jwks_url,
  jwksCa: r.jwks_ca,
  template: r.template,
  maxLifetimeMs: r.max_lifetime_ms,
  createdAt: new Date(r.created_at),
});

/** Trusted workload identity token issuers and the jti replay cache of the tokens they signed. */
export class IdentityIssuerRepository {
  readonly #sql: StatementCache;
  constructor(db: Db) {
    this.#sql = new StatementCache(db);
  }

  /** False when the issuer is already trusted. */
  insert(r: IdentityIssuerRecord): boolean {
    return (
      this.#sql
        .get('INSERT INTO identity_issuers (issuer, audience, jwks, jwks_url, jwks_ca, template, max_lifetime_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(r.issuer, r.audience, r.jwks, r.jwksUrl, r.jwksCa, r.template, r.maxLifetimeMs, r.createdAt.getTime()).changes === 1
    );
  }

  get(issuer: string): IdentityIssuerRecord | null {
    const r = this.#sql.get('SELECT * FROM identity_issuers WHERE issuer = ?').get(issuer) as Row | undefined;
    return r ? toRecord(r) : null;
  }

  list(): IdentityIssuerRecord[] {
    return (this.#sql.get('SELECT * FROM identity_issuers ORDER BY issuer').all() as Row[]).map(toRecord);
  }

  count(): number {
    return (this.#sql.get('SELECT count(*) AS n FROM identity_issuers').get() as { n: number }).n;
  }

  remove(issuer: string): boolean {
    return this.#sql.get('DELETE FROM identity_issuers WHERE issuer = ?').run(issuer).changes === 1;
  }

  /**
   * Records a use of token `jti` until `expiresAt`. True when it is new, or was first presented by
   * the same non-null `presenter` (one ACME account answering each authorization of its order).
   */
  use(o: { issuer: string; jti: string; presenter: string | null; expiresAt: Date; now: Date }): boolean {
    this.#sql.get('DELETE FROM identity_token_uses WHERE expires_at < ?').run(o.now.getTime());
    const inserted = this.#sql
      .get('INSERT INTO identity_token_uses (issuer, jti, presenter, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING')
      .run(o.issuer, o.jti, o.presenter, o.expiresAt.getTime()).changes === 1;
    if (inserted) return true;
    if (o.presenter === null) return false;
    const seen = this.#sql.get('SELECT presenter FROM identity_token_uses WHERE issuer = ? AND jti = ?').get(o.issuer, o.jti) as { presenter: string | null } | undefined;
    return seen?.presenter === o.presenter;
  }
}
