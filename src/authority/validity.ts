/** Backdating for clock skew between the CA and relying parties (one minute, as step-ca and Boulder do). */
export const BACKDATE_MS = 60_000;

/** The validity a certificate may have: the bounds of its issuer, or none for a self-signed root. */
export type IssuerValidity = { notBefore: Date; notAfter: Date } | null;

/**
 * The one validity rule every certificate follows (leaves, OCSP responders, CA certificates):
 * whole seconds (RFC 5280 §4.1.2.5 times carry none), backdated for clock skew but never before
 * the issuer became valid, and never outliving the issuer (path validation would reject the tail).
 */
export function validityFor(nowMs: number, lifetimeMs: number, issuer: IssuerValidity): { notBefore: Date; notAfter: Date } {
  let notBefore = Math.floor((nowMs - BACKDATE_MS) / 1000) * 1000;
  let notAfter = Math.floor((nowMs + lifetimeMs) / 1000) * 1000;
  if (issuer) {
    notBefore = Math.max(notBefore, issuer.notBefore.getTime());
    notAfter = Math.min(notAfter, issuer.notAfter.getTime());
  }
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}
