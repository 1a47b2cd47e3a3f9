import { randomBytes } from 'node:crypto';
import type { CertRecord, CertStatus } from '../domain/types.ts';
import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** One grant (migration 012): clients matching `client` may ask for `scopes` at `audience`. */
export interface OAuthGrant {
  id: string;
  client: string;
  audience: string;
  scopes: string[];
  maxTtlMs: number | null;
  /** Step-up requirements as written: "fresh:10m", "profile:hsm", "ttl:60s". */
  requires: string[];
  createdAt: Date;
}

interface GrantRow {
  id: string;
  client: string;
  audience: string;
  scopes: string;
  max_ttl_ms: number | null;
  requires: string;
  created_at: number;
}

const toGrant = (r: GrantRow): OAuthGrant => ({
  id: r.id,
  client: r.client,
  audience: r.audience,
  scopes: r.scopes.split(' '),
  maxTtlMs: r.max_ttl_ms,
  requires: JSON.parse(r.requires) as string[],
  createdAt: new Date(r.created_at),
});

/** A certificate's status and dates (store/certificates.ts keeps the row). */
export type CertificateStatus = Pick<CertRecord, 'status' | 'notBefore' | 'notAfter' | 'createdAt' | 'profile'>;

/** A token-signing key's row: which key-store label, its JWK thumbprint, when it stopped signing. */
export interface SigningKeyRow {
  label: string;
  kid: string;
  createdAt: Date;
  signsFrom: Date;
  retiredAt: Date | null;
}

/** Every SQL statement about OAuth grants and token-signing keys. */
export class OAuthRepository {
  readonly #statements: StatementCache;
  constructor(db: Db) {
    this.#statements = new StatementCache(db);
  }

  addGrant(g: Omit<OAuthGrant, 'id' | 'createdAt'>, now: Date): OAuthGrant {
    const id = `g_${randomBytes(6).toString('hex')}`;
    this.#statements
      .get('INSERT INTO oauth_grants (id, client, audience, scopes, max_ttl_ms, requires, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(id, g.client, g.audience, g.scopes.join(' '), g.maxTtlMs, JSON.stringify(g.requires), now.getTime());
    return { ...g, id, createdAt: now };
  }

  removeGrant(id: string): OAuthGrant | null {
    const row = this.#statements.get('SELECT * FROM oauth_grants WHERE id = ?').get(id) as GrantRow | undefined;
    if (!row) return null;
    this.#statements.get('DELETE FROM oauth_grants WHERE id = ?').run(id);
    return toGrant(row);
  }

  listGrants(): OAuthGrant[] {
    return (this.#statements.get('SELECT * FROM oauth_grants ORDER BY created_at, id').all() as GrantRow[]).map(toGrant);
  }

  /** Grants for one audience (the token endpoint's query: indexed). */
  grantsFor(audience: string): OAuthGrant[] {
    return (this.#statements.get('SELECT * FROM oauth_grants WHERE audience = ?').all(audience) as GrantRow[]).map(toGrant);
  }

  /** Every audience at least one grant names (to default `resource` when a client has one). */
  audiences(): string[] {
    return (this.#statements.get('SELECT DISTINCT audience FROM oauth_grants').all() as { audience: string }[]).map((r) => r.audience);
  }

  /**
   * What a token request needs to know of an authenticated client's certificate each time: its
   * status and dates, without the DER (compared once, when the certificate is first seen).
   */
  certificateStatus(serial: string): CertificateStatus | null {
    const r = this.#statements.get('SELECT status, not_before, not_after, created_at, profile FROM certificates WHERE serial = ?').get(serial) as
      | { status: CertStatus; not_before: number; not_after: number; created_at: number; profile: string }
      | undefined;
    return r ? { status: r.status, notBefore: new Date(r.not_before * 1000), notAfter: new Date(r.not_after * 1000), createdAt: new Date(r.created_at * 1000), profile: r.profile } : null;
  }

  addSigningKey(label: string, kid: string, now: Date, signsFrom: Date): void {
    this.#statements.get('INSERT INTO oauth_signing_keys (label, kid, created_at, signs_from) VALUES (?, ?, ?, ?)').run(label, kid, now.getTime(), signsFrom.getTime());
  }

  /** Retires every key but `keep` at `at` (when `keep` starts signing): they leave the JWKS later. */
  retireOthers(keep: string, at: Date): number {
    return this.#statements.get('UPDATE oauth_signing_keys SET retired_at = ? WHERE label != ? AND (retired_at IS NULL OR retired_at > ?)').run(at.getTime(), keep, at.getTime()).changes;
  }

  signingKeys(): SigningKeyRow[] {
    const rows = this.#statements.get('SELECT * FROM oauth_signing_keys ORDER BY signs_from, created_at, label').all() as { label: string; kid: string; created_at: number; signs_from: number; retired_at: number | null }[];
    return rows.map((r) => ({ label: r.label, kid: r.kid, createdAt: new Date(r.created_at), signsFrom: new Date(r.signs_from), retiredAt: r.retired_at === null ? null : new Date(r.retired_at) }));
  }
}
