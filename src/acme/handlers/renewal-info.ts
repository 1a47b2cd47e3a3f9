import { isCaError } from '../../domain/errors.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { malformed, notFound } from '../problems.ts';
import { serialFromCertId } from './order.ts';

const HOUR = 3_600_000;
/** How often clients should ask again (RFC 9773 §4.2 Retry-After). */
const POLL_S = 6 * 3600;

/**
 * GET renewalInfo/{certID} (RFC 9773 §4.2). A live certificate gets a window in
 * the last third of its lifetime (ending before the last sixth, so there is time
 * to retry); a revoked one gets a window already in the past: renew now.
 */
export function getRenewalInfo(ctx: AcmeContext, certId: string): AcmeReply {
  let serial: string;
  try {
    serial = serialFromCertId(certId, ctx.authority.issuer.keyId);
  } catch (e) {
    if (isCaError(e, 'notFound')) throw notFound(e.detail);
    if (isCaError(e)) throw malformed(e.detail);
    throw e;
  }
  const cert = ctx.certificates.get(serial);
  if (!cert || cert.issuer !== ctx.authority.issuer.keyId || (cert.status !== 'valid' && cert.status !== 'revoked')) throw notFound('no certificate with that id');
  const nb = cert.notBefore.getTime();
  const na = cert.notAfter.getTime();
  let start: number;
  let end: number;
  if (cert.status === 'revoked') {
    const now = ctx.clock.now().getTime();
    start = now - 2 * HOUR;
    end = now - HOUR;
  } else {
    const life = na - nb;
    start = nb + Math.round((life * 2) / 3);
    end = na - Math.round(life / 6);
  }
  return {
    status: 200,
    json: { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(end).toISOString() } },
    retryAfterS: POLL_S,
  };
}
