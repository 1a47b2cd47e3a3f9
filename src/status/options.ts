import type { z } from 'zod';
import { crlConfigSchema, ocspConfigSchema } from '../config/status.ts';
import { parseDuration } from '../domain/duration.ts';

/** Timings and limits of the status service; the defaults suit 24 h leaves. */
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
  /** Pre-signed responses held in memory (the hot set); the rest are read from the database by serial. */
  ocspCacheEntries: number;
}

const HOUR = 3_600_000;
/** A responder is rotated with at most this much of its lifetime left (more only when validity needs it). */
const RESPONDER_RENEW_BEFORE_MS = 2 * 24 * HOUR;

/**
 * The `ocsp` and `crl` sections of pki.json as status options. Anything missing takes the
 * schema's default (src/config/status.ts): the defaults live there and nowhere else.
 */
export function statusOptionsFromConfig(c: { ocsp?: z.input<typeof ocspConfigSchema>; crl?: z.input<typeof crlConfigSchema> }): StatusOptions {
  const ocsp = ocspConfigSchema.parse(c.ocsp ?? {});
  const crl = crlConfigSchema.parse(c.crl ?? {});
  const ocspValidityMs = parseDuration(ocsp.validity);
  const responderLifetimeMs = parseDuration(ocsp.responderLifetime);
  const crlValidityMs = parseDuration(crl.validity);
  return {
    ocspValidityMs,
    ocspRefreshBeforeMs: ocspValidityMs / 2,
    responderLifetimeMs,
    // Rotate early enough that every response a responder signs expires before the responder does.
    responderRenewBeforeMs: Math.max(ocspValidityMs + HOUR, Math.min(RESPONDER_RENEW_BEFORE_MS, responderLifetimeMs / 2)),
    maxCertsPerRequest: ocsp.maxCertsPerRequest,
    crlValidityMs,
    crlRefreshBeforeMs: crlValidityMs / 2,
    expiredGraceMs: parseDuration(crl.expiredGrace),
    crlRebuildDelayMs: 200,
    pollIntervalMs: 500,
    maintenanceIntervalMs: 60_000,
    ocspCacheEntries: ocsp.cacheEntries,
  };
}

/** The options of a pki.json without `ocsp` and `crl` sections. */
export const DEFAULT_STATUS_OPTIONS: StatusOptions = statusOptionsFromConfig({});
