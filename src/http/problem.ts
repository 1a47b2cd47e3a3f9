import { isCaError, type CaErrorKind } from '../domain/errors.ts';
import { AcmeProblem, isAcmeProblem, serverInternal } from '../acme/problems.ts';
import type { Logger } from '../domain/log.ts';

/** CaError kinds as ACME problems (RFC 8555 §6.7); anything unlisted is a 500 with no detail. */
const BY_KIND: Partial<Record<CaErrorKind, (detail: string) => AcmeProblem>> = {
  badCsr: (d) => new AcmeProblem('badCSR', 400, d),
  badKey: (d) => new AcmeProblem('badCSR', 400, d),
  rejectedIdentifier: (d) => new AcmeProblem('rejectedIdentifier', 400, d),
  malformed: (d) => new AcmeProblem('malformed', 400, d),
  notFound: (d) => new AcmeProblem('malformed', 404, d),
  conflict: (d) => new AcmeProblem('malformed', 409, d),
  alreadyRevoked: (d) => new AcmeProblem('alreadyRevoked', 400, d),
  unauthorized: (d) => new AcmeProblem('unauthorized', 403, d),
};

/** The one place errors become problems: internal detail is logged, never sent (STANDARDS: no 5xx detail). */
export function toProblem(e: unknown, logger: Logger, context: Record<string, unknown> = {}): AcmeProblem {
  if (isAcmeProblem(e)) return e;
  if (isCaError(e)) {
    const make = BY_KIND[e.kind];
    if (make) return make(e.detail);
  }
  logger.error('acme.internal-error', { ...context, error: (e as Error)?.message ?? String(e), kind: isCaError(e) ? e.kind : undefined });
  return serverInternal();
}
