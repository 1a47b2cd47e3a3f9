import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../domain/log.ts';
import type { Identifier } from '../domain/types.ts';
import type { WorkloadTokenVerifier } from '../domain/workload-token.ts';
import type { EstStore } from '../store/est-store.ts';

/** The one authority method EST needs (a narrow interface, defined where it is used, as acme/context.ts does). */
export interface EstAuthority {
  issue(
    csr: Uint8Array,
    opts: { profile: string; identifiers: Identifier[]; actor: string; renewal?: { replaces: string; lineageStart: Date } },
  ): Promise<{ serial: string; der: Uint8Array }>;
  readonly issuer: { keyId: string };
}

export interface EstSettings {
  /** Profile of simpleenroll certificates. */
  profile: string;
  /** renewal.maxLineage: how long renewals may chain from the last fresh authorization. */
  maxLineageMs: number;
  /** renewal.allowSameKey. */
  allowSameKey: boolean;
}

/** Everything EST works with; built once by the composition root. */
export interface EstContext {
  store: EstStore;
  authority: EstAuthority;
  /** DER of the CA certificates /cacerts returns (intermediate, root). */
  caCertificates: Uint8Array[];
  /** Seals enrollment-key secrets at rest (enrollment-keys.ts). */
  sealKey: Uint8Array;
  clock: Clock;
  logger: Logger;
  settings: EstSettings;
  /** Checks Bearer credentials of simpleenroll; absent = Bearer is refused with 401. */
  tokenVerifier?: WorkloadTokenVerifier;
  /** Whether any token issuer is trusted right now (`pki issuers` may change it while serving); absent = yes when a verifier is set. */
  tokensOffered?: () => boolean;
}
