import type { Clock } from '../../domain/clock.ts';
import type { Logger } from '../../domain/log.ts';
import type { AcmeStore } from '../../store/acme-store.ts';
import type { StoredProblem } from '../../store/acme-records.ts';
import type { ValidationStarter } from '../context.ts';
import { checkBinding } from '../binding.ts';
import { isAcmeProblem, problemName, serverInternal } from '../problems.ts';
import { keyAuthorization, type Validator } from './validator.ts';

/**
 * Runs challenge validations in the background, then moves challenge → authorization
 * → order. The challenge POST may wait a bounded time for the outcome (handlers/challenge.ts).
 */
export class ValidationQueue implements ValidationStarter {
  readonly #validators: Map<string, Validator>;
  readonly #store: AcmeStore;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  /** Challenges being validated now (the reconciler retries only those that are not). */
  readonly #running = new Set<string>();
  readonly #listeners: ((r: { type: string; outcome: string; seconds: number }) => void)[] = [];

  constructor(o: { validators: Validator[]; store: AcmeStore; clock: Clock; logger: Logger }) {
    this.#validators = new Map(o.validators.map((v) => [v.type, v]));
    this.#store = o.store;
    this.#clock = o.clock;
    this.#logger = o.logger;
  }

  start(challengeId: string, response?: Record<string, unknown>): Promise<void> {
    this.#running.add(challengeId);
    const p = this.#run(challengeId, response).catch((e) => this.#logger.error('acme.validation.crashed', { challenge: challengeId, error: (e as Error).message }));
    this.#inFlight.add(p);
    void p.finally(() => {
      this.#inFlight.delete(p);
      this.#running.delete(challengeId);
    });
    return p;
  }

  /** True while a validation of this challenge runs in this process. */
  running(challengeId: string): boolean {
    return this.#running.has(challengeId);
  }

  /** Called after each validation with its challenge type, outcome ("valid" or the problem type) and duration (metrics). */
  onValidated(listener: (r: { type: string; outcome: string; seconds: number }) => void): void {
    this.#listeners.push(listener);
  }

  /** Waits for validations under way (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight]);
  }

  async #run(challengeId: string, response?: Record<string, unknown>): Promise<void> {
    const orders = this.#store.orders;
    const ch = orders.challenge(challengeId);
    const authz = ch && orders.authz(ch.authzId);
    const account = authz && this.#store.accounts.get(authz.accountId);
    if (!ch || !authz || !account) return;
    const validator = this.#validators.get(ch.type);
    let error: StoredProblem | null = null;
    const started = performance.now();
    try {
      // A validation started before the account's EAB key was revoked (or retried after a restart) stops here.
      const refusal = checkBinding(this.#store, account).refusal;
      if (refusal) throw refusal;
      if (!validator) throw serverInternal();
      await validator.validate({ identifier: { ...authz.identifier, value: authz.identifier.value.replace(/^\*\./, '') }, token: ch.token, keyAuthorization: keyAuthorization(ch.token, account.thumbprint), accountId: account.id, response });
    } catch (e) {
      const p = isAcmeProblem(e) ? e : serverInternal();
      if (!isAcmeProblem(e)) this.#logger.error('acme.validation.error', { challenge: challengeId, error: (e as Error).message });
      error = p.embedded();
    }
    const seconds = (performance.now() - started) / 1000;
    const now = this.#clock.now();
    this.#store.transaction(() => {
      if (error) {
        orders.transitionChallenge(ch.id, ['processing'], 'invalid', { error });
        // Only a still-pending authorization fails (another challenge may have validated it meanwhile).
        if (orders.transitionAuthz(authz.id, ['pending'], 'invalid')) orders.transitionOrder(authz.orderId, ['pending'], 'invalid', { error });
        return;
      }
      if (!orders.transitionChallenge(ch.id, ['processing'], 'valid', { validatedAt: now })) return;
      if (authz.expiresAt.getTime() <= now.getTime() || !orders.transitionAuthz(authz.id, ['pending'], 'valid')) return;
      // §7.1.6: the order is ready once every authorization is valid.
      if (orders.authzsOf(authz.orderId).every((a) => a.status === 'valid')) orders.transitionOrder(authz.orderId, ['pending'], 'ready');
    });
    for (const l of this.#listeners) l({ type: ch.type, outcome: error ? problemName(error.type) : 'valid', seconds });
    this.#logger.info('acme.validation.done', { challenge: ch.id, type: ch.type, identifier: authz.identifier.value, valid: !error, ...(error ? { problem: error.type, detail: error.detail } : {}) });
  }
}
