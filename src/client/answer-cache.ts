import type { EnrollmentState } from './state.ts';

type Cache = NonNullable<EnrollmentState['cache']>;
type Window = { start: Date; end: Date; retryAfterMs: number };
export type RevocationAnswer = boolean | { revoked: boolean; nextUpdate?: Date | null };

/**
 * The longest a "good" revocation verdict is reused: a certificate revoked at the CA is noticed by
 * its holder's next timer run after this, even when the OCSP answer's nextUpdate is later.
 */
export const REVOCATION_FRESH_MS = 3_600_000;

/**
 * Remembers the ARI window and a good revocation verdict of the certificate `serial` so that a
 * not-due renew while they are fresh asks nothing (#19). Wraps the two look-ups renewalReason
 * makes; `changed` says whether `state()` must be written back.
 */
export class AnswerCache {
  #c: Cache;
  changed = false;

  constructor(
    previous: EnrollmentState['cache'],
    serial: string,
    private readonly now: Date,
  ) {
    // Answers about another certificate (the one before a renewal) say nothing about this one.
    this.#c = previous?.serial === serial ? { ...previous } : { serial };
    if (previous && previous.serial !== serial) this.changed = true;
  }

  /** RFC 9773 §4.3: the window is asked again only once its Retry-After has passed. */
  ari(ask: () => Promise<Window | null>): () => Promise<{ start: Date } | null> {
    return async () => {
      const hit = this.#c.ari;
      if (hit && this.now < new Date(hit.until)) return { start: new Date(hit.start) };
      const w = await ask();
      if (w) {
        this.#c.ari = { start: w.start.toISOString(), end: w.end.toISOString(), until: new Date(this.now.getTime() + w.retryAfterMs).toISOString() };
      } else {
        delete this.#c.ari;
      }
      this.changed = true;
      return w;
    };
  }

  /** A good verdict is reused until min(nextUpdate, +1 h); a revoked one or a failure is never kept. */
  revocation(ask: (certPem: string, chainPem: string) => Promise<RevocationAnswer>): (certPem: string, chainPem: string) => Promise<RevocationAnswer> {
    return async (certPem, chainPem) => {
      const hit = this.#c.revocation;
      if (hit && this.now < new Date(hit.until) && this.now >= new Date(hit.checkedAt)) return false;
      if (hit) {
        delete this.#c.revocation;
        this.changed = true;
      }
      const answer = await ask(certPem, chainPem);
      const revoked = typeof answer === 'boolean' ? answer : answer.revoked;
      if (!revoked) {
        const next = typeof answer === 'boolean' ? null : (answer.nextUpdate ?? null);
        const bound = this.now.getTime() + REVOCATION_FRESH_MS;
        const until = next && next.getTime() < bound ? next.getTime() : bound;
        this.#c.revocation = { verdict: 'good', checkedAt: this.now.toISOString(), until: new Date(until).toISOString() };
        this.changed = true;
      }
      return answer;
    };
  }

  state(): Cache {
    return this.#c;
  }
}
