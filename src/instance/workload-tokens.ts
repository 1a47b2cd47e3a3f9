import type { AcmeWorkloadTokens } from '../acme/context.ts';
import type { Logger } from '../domain/log.ts';
import { createWorkloadTokens, type WorkloadTokens } from '../identity/verifier.ts';
import type { CaInstance } from './open.ts';

const shared = new WeakMap<CaInstance, WorkloadTokens>();

/**
 * The one workload identity token verifier (src/identity/) of an opened instance, shared by every
 * protocol that takes tokens (ACME tkauth-01; EST simpleenroll takes `.verify`, a
 * WorkloadTokenVerifier), so they share one JWKS cache and one replay cache. On the main connection
 * (synchronous=FULL): a token's jti is on disk before what it authorized counts.
 */
export function workloadTokensOf(ca: CaInstance, logger: Logger): WorkloadTokens {
  let tokens = shared.get(ca);
  if (!tokens) {
    tokens = createWorkloadTokens({ db: ca.store.db, clock: ca.clock, logger });
    shared.set(ca, tokens);
  }
  return tokens;
}

/** The verifier as ACME's tkauth-01 takes it (acme/ sees only the domain type): a token is bound to the account presenting it. */
export function acmeWorkloadTokens(ca: CaInstance, logger: Logger): AcmeWorkloadTokens {
  const tokens = workloadTokensOf(ca, logger);
  return { forAccount: (accountId) => tokens.forPresenter(`acme:${accountId}`), offered: tokens.offered };
}
