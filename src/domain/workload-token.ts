import type { Identifier } from './types.ts';

/**
 * What a verified workload identity token (a JWT from a trusted issuer: Kubernetes, an OIDC
 * provider, a cloud) allows its holder: the identifiers the issuer's template yields from its
 * claims, and no others. src/identity/ makes the verifier; ACME tkauth-01 and EST simpleenroll
 * (a Bearer credential) take it by this type, so neither depends on how tokens are checked.
 */
export interface WorkloadGrant {
  /** The trusted issuer's `iss`. */
  issuer: string;
  /** The token's `sub`, for the audit trail. */
  subject: string;
  /** Canonical identifiers (domain/identifiers.ts) the holder may get certificates for. */
  identifiers: Identifier[];
}

/** Verifies a compact JWT; rejects with a CaError saying why (unauthorized, with detail) when it grants nothing. */
export type WorkloadTokenVerifier = (token: string) => Promise<WorkloadGrant>;
