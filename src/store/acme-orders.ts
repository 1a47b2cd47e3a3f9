import type { Identifier } from '../domain/types.ts';
import { sqlFor, type Db } from './sql.ts';
import { StatementCache } from './statements.ts';
import { parseJson, type AuthzRecord, type AuthzStatus, type ChallengeRecord, type ChallengeStatus, type OrderRecord, type OrderStatus, type StoredProblem } from './acme-records.ts';

interface OrderRow {
  id: string;
  account_id: string;
  status: OrderStatus;
  identifiers: string;
  profile: string;
  expires_at: number;
  error: string | null;
  cert_serial: string | null;
  issuing_serial: string | null;
  replaces: string | null;
  created_at: number;
}
interface AuthzRow {
  id: string;
  order_id: string;
  account_id: string;
  id_type: Identifier['type'];
  id_value: string;
  wildcard: number;
  status: AuthzStatus;
  expires_at: number;
}
interface ChallengeRow {
  id: string;
  authz_id: string;
  type: string;
  token: string;
  status: ChallengeStatus;
  validated_at: number | null;
  error: string | null;
}

const toOrder = (r: OrderRow): OrderRecord => ({
  id: r.id,
  accountId: r.account_id,
  status: r.status,
  identifiers: JSON.parse(r.identifiers) as Identifier[],
  profile: r.profile,
  expiresAt: new Date(r.expires_at),
  error: parseJson<StoredProblem>(r.error),
  certSerial: r.cert_serial,
  issuingSerial: r.issuing_serial,
  replaces: r.replaces,
  createdAt: new Date(r.created_at),
});
const toAuthz = (r: AuthzRow): AuthzRecord => ({
  id: r.id,
  orderId: r.order_id,
  accountId: r.account_id,
  identifier: { type: r.id_type, value: r.id_value },
  wildcard: r.wildcard === 1,
  status: r.status,
  expiresAt: new Date(r.expires_at),
});
const toChallenge = (r: ChallengeRow): ChallengeRecord => ({
  id: r.id,
  authzId: r.authz_id,
  type: r.type,
  token: r.token,
  status: r.status,
  validatedAt: r.validated_at === null ? null : new Date(r.validated_at),
  error: parseJson<StoredProblem>(r.error),
});
const json = (p: StoredProblem | null) => (p === null ? null : JSON.stringify(p));

/** Orders with their authorizations and challenges (one aggregate: they live and expire together). */
export class AcmeOrderRepository {
  readonly #sql: StatementCache;
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
    this.#sql = new StatementCache(db);
  }

  insert(o: OrderRecord, authzs: AuthzRecord[], challenges: ChallengeRecord[]): void {
    this.#sql
      .get('INSERT INTO acme_orders (id, account_id, status, identifiers, profile, expires_at, error, cert_serial, replaces, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(o.id, o.accountId, o.status, JSON.stringify(o.identifiers), o.profile, o.expiresAt.getTime(), json(o.error), o.certSerial, o.replaces, o.createdAt.getTime());
    const az = this.#sql.get('INSERT INTO acme_authzs (id, order_id, account_id, id_type, id_value, wildcard, status, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const a of authzs) az.run(a.id, a.orderId, a.accountId, a.identifier.type, a.identifier.value, a.wildcard ? 1 : 0, a.status, a.expiresAt.getTime());
    const ch = this.#sql.get('INSERT INTO acme_challenges (id, authz_id, type, token, status, validated_at, error) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const c of challenges) ch.run(c.id, c.authzId, c.type, c.token, c.status, c.validatedAt?.getTime() ?? null, json(c.error));
  }

  order(id: string): OrderRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_orders WHERE id = ?').get(id) as OrderRow | undefined;
    return r ? toOrder(r) : null;
  }

  ordersOf(accountId: string, limit = 1000): OrderRecord[] {
    return (this.#sql.get('SELECT * FROM acme_orders WHERE account_id = ? ORDER BY created_at DESC LIMIT ?').all(accountId, limit) as OrderRow[]).map(toOrder);
  }

  orderByCertificate(serial: string): OrderRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_orders WHERE cert_serial = ?').get(serial) as OrderRow | undefined;
    return r ? toOrder(r) : null;
  }

  /**
   * finalize's ready → processing compare-and-set, recording the serial the certificate will be
   * signed under in the same write, before the key signs (reconcile.ts links or fails it after a crash).
   */
  startIssuing(id: string, serial: string): boolean {
    return this.#sql.get(`UPDATE acme_orders SET status = 'processing', issuing_serial = ? WHERE id = ? AND status = 'ready'`).run(serial, id).changes === 1;
  }

  /** Makes an order `valid` with its certificate (and no error); false if it was not in one of `from`. */
  linkCertificate(id: string, from: OrderStatus[], serial: string): boolean {
    const marks = from.map(() => '?').join(', ');
    return this.#sql.get(`UPDATE acme_orders SET status = 'valid', cert_serial = ?, error = NULL WHERE id = ? AND status IN (${marks})`).run(serial, id, ...from).changes === 1;
  }

  /** Orders made invalid with this problem type and no certificate: one may yet have been signed (reconcile.ts, at start). */
  invalidWith(problemType: string, limit = 10_000): OrderRecord[] {
    return (
      this.#sql
        .get(
          `SELECT * FROM acme_orders WHERE status = 'invalid' AND cert_serial IS NULL AND ${sqlFor(this.#db, { sqlite: "json_extract(error, '$.type')", postgres: "(error::jsonb ->> 'type')" })} = ? ORDER BY created_at LIMIT ?`,
        )
        .all(problemType, limit) as OrderRow[]
    ).map(toOrder);
  }

  /** Orders left `processing` (reconcile.ts). */
  processingOrders(limit = 1000): OrderRecord[] {
    return (this.#sql.get(`SELECT * FROM acme_orders WHERE status = 'processing' ORDER BY created_at LIMIT ?`).all(limit) as OrderRow[]).map(toOrder);
  }

  /** Challenges left `processing` (reconcile.ts). */
  processingChallenges(limit = 1000): ChallengeRecord[] {
    return (this.#sql.get(`SELECT * FROM acme_challenges WHERE status = 'processing' ORDER BY rowid LIMIT ?`).all(limit) as ChallengeRow[]).map(toChallenge);
  }

  /** An order that replaces this certificate id (RFC 9773 §5) and still counts: not invalid, and not expired unfinalized. */
  replacing(certId: string, now: Date): OrderRecord | null {
    const r = this.#sql
      .get(`SELECT * FROM acme_orders WHERE replaces = ? AND (status IN ('processing', 'valid') OR (status IN ('pending', 'ready') AND expires_at > ?)) LIMIT 1`)
      .get(certId, now.getTime()) as OrderRow | undefined;
    return r ? toOrder(r) : null;
  }

  /** Compare-and-set on the order status: the guard that makes finalize issue at most once. */
  transitionOrder(id: string, from: OrderStatus[], to: OrderStatus, fields: { error?: StoredProblem | null; certSerial?: string } = {}): boolean {
    const marks = from.map(() => '?').join(', ');
    return (
      this.#sql
        .get(`UPDATE acme_orders SET status = ?, error = coalesce(?, error), cert_serial = coalesce(?, cert_serial) WHERE id = ? AND status IN (${marks})`)
        .run(to, json(fields.error ?? null), fields.certSerial ?? null, id, ...from).changes === 1
    );
  }

  authz(id: string): AuthzRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_authzs WHERE id = ?').get(id) as AuthzRow | undefined;
    return r ? toAuthz(r) : null;
  }

  authzsOf(orderId: string): AuthzRecord[] {
    return (this.#sql.get('SELECT * FROM acme_authzs WHERE order_id = ? ORDER BY rowid').all(orderId) as AuthzRow[]).map(toAuthz);
  }

  transitionAuthz(id: string, from: AuthzStatus[], to: AuthzStatus): boolean {
    const marks = from.map(() => '?').join(', ');
    return this.#sql.get(`UPDATE acme_authzs SET status = ? WHERE id = ? AND status IN (${marks})`).run(to, id, ...from).changes === 1;
  }

  challenge(id: string): ChallengeRecord | null {
    const r = this.#sql.get('SELECT * FROM acme_challenges WHERE id = ?').get(id) as ChallengeRow | undefined;
    return r ? toChallenge(r) : null;
  }

  challengesOf(authzId: string): ChallengeRecord[] {
    return (this.#sql.get('SELECT * FROM acme_challenges WHERE authz_id = ? ORDER BY rowid').all(authzId) as ChallengeRow[]).map(toChallenge);
  }

  transitionChallenge(id: string, from: ChallengeStatus[], to: ChallengeStatus, fields: { error?: StoredProblem | null; validatedAt?: Date } = {}): boolean {
    const marks = from.map(() => '?').join(', ');
    return (
      this.#sql
        .get(`UPDATE acme_challenges SET status = ?, error = coalesce(?, error), validated_at = coalesce(?, validated_at) WHERE id = ? AND status IN (${marks})`)
        .run(to, json(fields.error ?? null), fields.validatedAt?.getTime() ?? null, id, ...from).changes === 1
    );
  }
}
