import type { Clock } from '../domain/clock.ts';
import { canonicalSet } from '../domain/identifiers.ts';
import type { Logger } from '../domain/log.ts';
import type { AcmeStore } from '../store/acme-store.ts';
import type { ChallengeRecord, OrderRecord } from '../store/acme-records.ts';
import type { CertificateLookup } from './context.ts';
import { serverInternal } from './problems.ts';

/** What the reconciler needs of the validation queue (validation/queue.ts). */
export interface ValidationRunner {
  running(challengeId: string): boolean;
  start(challengeId: string): Promise<void>;
}

export interface ReconcileReport {
  challengesRetried: number;
  challengesFailed: number;
  ordersLinked: number;
  ordersFailed: number;
}

export interface ReconcilerDeps {
  store: AcmeStore;
  certificates: CertificateLookup;
  validations: ValidationRunner;
  /** Orders a finalize in this process is signing now (AcmeContext.finalizing). */
  finalizing: ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
}

const ACTOR = 'system:acme-reconcile';

/**
 * Finishes or fails ACME work a crash, a full disk or a kill left in flight, and audits each
 * step: a challenge `processing` with no validation running is validated again (or made
 * `invalid` when its authorization no longer waits for it); an order `processing` that no
 * finalize in this process is signing is linked to its certificate when that was signed
 * (made `valid`), and otherwise made `invalid` with serverInternal, so the client orders again.
 * Runs at start and then periodically (create.ts).
 */
export class AcmeReconciler {
  readonly #o: ReconcilerDeps;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: ReconcilerDeps) {
    this.#o = o;
  }

  /** Runs once now (with the start-only pass), then every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.#safeRun(true);
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.#safeRun(), intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #safeRun(atStart = false): void {
    try {
      this.run({ atStart });
    } catch (e) {
      this.#o.logger.error('acme.reconcile.failed', { error: (e as Error).message });
    }
  }

  /**
   * One pass. `atStart` also looks at orders an earlier failure made invalid although their
   * certificate was signed (a failure after the commit, before finalize linked it): that
   * certificate was never delivered nor revocable by its account, so the order gets it.
   */
  run(o: { atStart?: boolean } = {}): ReconcileReport {
    const report: ReconcileReport = { challengesRetried: 0, challengesFailed: 0, ordersLinked: 0, ordersFailed: 0 };
    if (o.atStart) {
      for (const order of this.#o.store.orders.invalidWith(serverInternal().type)) if (this.#link(order, 'invalid')) report.ordersLinked++;
    }
    for (const ch of this.#o.store.orders.processingChallenges()) {
      if (this.#o.validations.running(ch.id)) continue;
      if (this.#challenge(ch)) report.challengesRetried++;
      else report.challengesFailed++;
    }
    for (const order of this.#o.store.orders.processingOrders()) {
      if (this.#o.finalizing.has(order.id)) continue;
      const r = this.#order(order);
      if (r === 'linked') report.ordersLinked++;
      else if (r === 'failed') report.ordersFailed++;
    }
    if (Object.values(report).some((n) => n > 0)) this.#o.logger.warn('acme.reconcile.done', { ...report });
    return report;
  }

  /** true: validation started again; false: the challenge was made invalid. */
  #challenge(ch: ChallengeRecord): boolean {
    const { store, clock } = this.#o;
    const now = clock.now();
    const authz = store.orders.authz(ch.authzId);
    const account = authz && store.accounts.get(authz.accountId);
    if (authz && account?.status === 'valid' && authz.status === 'pending' && authz.expiresAt.getTime() > now.getTime()) {
      store.audit.append({ at: now, action: 'acme.challenge.retried', actor: ACTOR, target: ch.id, details: { reason: 'left processing with no validation running' } });
      void this.#o.validations.start(ch.id);
      return true;
    }
    const error = serverInternal(`the validation was interrupted and the authorization is ${authz ? (authz.status === 'pending' ? 'expired' : authz.status) : 'gone'}`).embedded();
    store.transaction(() => {
      if (!store.orders.transitionChallenge(ch.id, ['processing'], 'invalid', { error })) return;
      store.audit.append({ at: now, action: 'acme.challenge.failed', actor: ACTOR, target: ch.id, details: { problem: error.type, detail: error.detail } });
    });
    return false;
  }

  /** Links the certificate signed for `order` (in status `from`) to it, audited; false if there is none. */
  #link(order: OrderRecord, from: 'processing' | 'invalid'): boolean {
    const { store, clock } = this.#o;
    const serial = this.#signedSerial(order);
    if (!serial) return false;
    return store.transaction(() => {
      // A certificate another order already holds is not this one's (unique cert_serial).
      if (store.orders.orderByCertificate(serial) || !store.orders.linkCertificate(order.id, [from], serial)) return false;
      store.audit.append({ at: clock.now(), action: 'acme.order.recovered', actor: ACTOR, target: order.id, details: { serial, was: from } });
      return true;
    });
  }

  #order(order: OrderRecord): 'linked' | 'failed' | 'skipped' {
    const { store, clock } = this.#o;
    const now = clock.now();
    if (this.#link(order, 'processing')) return 'linked';
    return store.transaction(() => {
      const error = serverInternal('issuance was interrupted before a certificate was signed: place a new order').embedded();
      if (!store.orders.transitionOrder(order.id, ['processing'], 'invalid', { error })) return 'skipped';
      store.audit.append({ at: now, action: 'acme.order.failed', actor: ACTOR, target: order.id, details: { issuingSerial: order.issuingSerial ?? null, problem: error.type } });
      return 'failed';
    });
  }

  /** The serial of the certificate signed for this order, if one was. */
  #signedSerial(order: OrderRecord): string | null {
    const signed = (serial: string) => {
      const c = this.#o.certificates.get(serial);
      return c !== null && c.der !== null && (c.status === 'valid' || c.status === 'revoked');
    };
    if (order.issuingSerial) return signed(order.issuingSerial) ? order.issuingSerial : null;
    return this.#legacySerial(order, signed);
  }

  /**
   * Orders left `processing` before the issuing serial was recorded (migration 007): the
   * certificate issued to this account, for exactly these names, after the order was made,
   * that no order holds. Only an unambiguous match is linked.
   */
  #legacySerial(order: OrderRecord, signed: (serial: string) => boolean): string | null {
    const sans = JSON.stringify(canonicalSet(order.identifiers));
    const candidates = this.#o.store.audit
      .list({ since: order.createdAt, limit: 100_000 })
      .filter((e) => e.action === 'certificate.issued' && e.actor === `acme:${order.accountId}` && e.target && JSON.stringify((e.details as { sans?: unknown }).sans) === sans)
      .map((e) => e.target!)
      .filter((serial) => signed(serial) && !this.#o.store.orders.orderByCertificate(serial));
    return candidates.length === 1 ? candidates[0]! : null;
  }
}
