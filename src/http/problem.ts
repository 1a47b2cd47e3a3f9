import { isCaError, type CaErrorKind } from '../domain/errors.ts';
import { alreadyRevoked, badCsr, conflict, isAcmeProblem, malformed, notFound, rejectedIdentifier, serverInternal, unauthorized, AcmeProblem } from '../acme/problems.ts';
import type { Logger } from '../domain/log.ts';

/** CaError kinds as ACME problems (RFC 8555 §6.7); anything unlisted is a 500 with no detail. */
const BY_KIND: Partial<Record<CaErrorKind, (detail: string) => AcmeProblem>> = {
  badCsr,
  badKey: badCsr,
  rejectedIdentifier,
  malformed,
  notFound,
  conflict,
  alreadyRevoked,
  unauthorized,
  // The CA refuses to sign for now (its database does not match its signed transparency log, #17): say why.
  // No Retry-After: it lasts until an operator restores the database (acme-client still retries a 503 once).
  unavailable: (detail) => new AcmeProblem('serverInternal', 503, detail),
};

/** The one place errors become problems: internal detail is logged, never sent (STANDARDS: no 5xx detail). */
export function toProblem(e: unknown, logger: Logger, context: Record<string, unknown> = {}): AcmeProblem {
  if (isAcmeProblem(e)) return e;
  if (isCaError(e)) {
    const make = BY_KIND[e.kind];
    const p = make?.(e.detail);
    // A refusal that passes by itself (the log's start check, #21) says when to ask again (RFC 9110 §10.2.3).
    if (p && e.retryAfterS !== undefined) return new AcmeProblem(p.type, p.status, p.detail, { headers: { ...p.headers, 'Retry-After': String(e.retryAfterS) } });
    if (p) return p;
  }
  logger.error('acme.internal-error', { ...context, error: (e as Error)?.message ?? String(e), kind: isCaError(e) ? e.kind : undefined });
  return serverInternal();
}
