import type { AcmeWorkloadTokens } from '../acme/context.ts';
import type { Logger } from '../domain/log.ts';
import { createWorkloadTokens } from '../identity/verifier.ts';
import type { CaInstance } from './open.ts';

/**
 * The workload identity token verifier (src/identity/) handed to ACME as tkauth-01's
 * AcmeWorkloadTokens: acme/ sees only the domain type. On the main connection (synchronous=FULL):
 * a token's jti must be on disk before the authorization it validates counts.
 */
export function acmeWorkloadTokens(ca: CaInstance, logger: Logger): AcmeWorkloadTokens {
  const tokens = createWorkloadTokens({ db: ca.store.db, clock: ca.clock, logger });
  return { forAccount: (accountId) => tokens.forPresenter(`acme:${accountId}`), offered: tokens.offered };
}
