import { parseDuration } from '../domain/duration.ts';

/** Timings and limits of the status service; every field has a default fit for 24 h leaves. */
export interface StatusOptions {
  /** thisUpdate → nextUpdate of OCSP responses (RFC 5019 / BRs: between hours and days). */
  ocspValidityMs: number;
  /** Re-sign a pre-signed response once less than this is left (well before nextUpdate). */
  ocspRefreshBeforeMs: number;
  /** Lifetime of a delegated responder certificate (short: it carries ocsp-nocheck). */
  responderLifetimeMs: number;
  /** Rotate the responder once less than this is left; must exceed ocspValidityMs so its responses never outlive it. */
  responderRenewBeforeMs: number;
  maxCertsPerRequest: number;
  /** thisUpdate → nextUpdate of CRLs. */
  crlValidityMs: number;
  /** Rebuild a CRL on schedule once less than this is left before its nextUpdate. */
  crlRefreshBeforeMs: number;
  /** Revoked certificates stay on the CRL (and keep fresh OCSP answers) this long after they expire. */
  expiredGraceMs: number;
  /** How soon after a revocation the CRL is rebuilt (revocations arriving meanwhile share the rebuild). */
  crlRebuildDelayMs: number;
  /** How often to look for changes other processes (the CLI) committed, and for due work. */
  pollIntervalMs: number;
  maintenanceIntervalMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_STATUS_OPTIONS: StatusOptions = {
  ocspValidityMs: 12 * HOUR,
  ocspRefreshBeforeMs: 6 * HOUR,
  responderLifetimeMs: 4 * 24 * HOUR,
  responderRenewBeforeMs: 2 * 24 * HOUR,
  maxCertsPerRequest: 8,
  crlValidityMs: 24 * HOUR,
  crlRefreshBeforeMs: 12 * HOUR,
  expiredGraceMs: 24 * HOUR,
  crlRebuildDelayMs: 200,
  pollIntervalMs: 500,
  maintenanceIntervalMs: 60_000,
};

/** The `ocsp` and `crl` sections of pki.json (durations as text), over the defaults. */
export function statusOptionsFromConfig(c: {
  ocsp?: { validity?: string; responderLifetime?: string; maxCertsPerRequest?: number };
  crl?: { validity?: string; expiredGrace?: string };
}): StatusOptions {
  const o = { ...DEFAULT_STATUS_OPTIONS };
  if (c.ocsp?.validity) {
    o.ocspValidityMs = parseDuration(c.ocsp.validity);
    o.ocspRefreshBeforeMs = o.ocspValidityMs / 2;
  }
  if (c.ocsp?.responderLifetime) o.responderLifetimeMs = parseDuration(c.ocsp.responderLifetime);
  // Rotate early enough that every response a responder signs expires before the responder does.
  o.responderRenewBeforeMs = Math.max(o.ocspValidityMs + HOUR, Math.min(DEFAULT_STATUS_OPTIONS.responderRenewBeforeMs, o.responderLifetimeMs / 2));
  if (c.ocsp?.maxCertsPerRequest) o.maxCertsPerRequest = c.ocsp.maxCertsPerRequest;
  if (c.crl?.validity) {
    o.crlValidityMs = parseDuration(c.crl.validity);
    o.crlRefreshBeforeMs = o.crlValidityMs / 2;
  }
  if (c.crl?.expiredGrace) o.expiredGraceMs = parseDuration(c.crl.expiredGrace);
  return o;
}
