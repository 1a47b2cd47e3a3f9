import { isCaError } from '../../domain/errors.ts';
import type { AcmeWorkloadTokens } from '../context.ts';
import { malformed, unauthorized } from '../problems.ts';
import type { ValidationRequest, Validator } from './validator.ts';

/** One tkauth-01 validation, for the audit trail. */
export interface TkauthOutcome {
  accountId: string | null;
  identifier: string;
  valid: boolean;
  subject: string | null;
  detail: string | null;
}

export const TKAUTH_01 = 'tkauth-01';

/** The challenge's `tkauth-type` (RFC 9447 §3): the client answers with an `atc` token. */
export const TKAUTH_TYPE = 'atc';

/**
 * tkauth-01 (RFC 9447 §3-4): the client answers with `{"atc": "<JWT>"}`, a workload identity
 * token from a trusted issuer (`pki issuers`). The authorization is valid only when the
 * identifier is among those the issuer's template grants that token: nothing is reached over
 * the network but the issuer's JWKS. RFC 9447 §5 would bind the token to the account key by a
 * fingerprint claim Kubernetes and OIDC tokens do not carry; instead a token's jti is bound to
 * the first account that presents it (identity/verifier.ts), so a token seen by pki cannot be
 * replayed by anyone else.
 */
export class Tkauth01Validator implements Validator {
  readonly type = TKAUTH_01;
  readonly #tokens: AcmeWorkloadTokens;
  readonly #audit: (o: TkauthOutcome) => void;

  /** `audit` records each outcome (the token's own refusals are audited by the verifier too). */
  constructor(tokens: AcmeWorkloadTokens, audit: (o: TkauthOutcome) => void) {
    this.#tokens = tokens;
    this.#audit = audit;
  }

  async validate(r: ValidationRequest): Promise<void> {
    const identifier = `${r.identifier.type}:${r.identifier.value}`;
    try {
      const subject = await this.#check(r);
      this.#audit({ accountId: r.accountId ?? null, identifier, valid: true, subject, detail: null });
    } catch (e) {
      this.#audit({ accountId: r.accountId ?? null, identifier, valid: false, subject: null, detail: (e as Error).message });
      throw e;
    }
  }

  async #check(r: ValidationRequest): Promise<string> {
    const atc = r.response?.atc;
    // A retry after a restart (reconcile.ts) has no response: the token was never stored.
    if (typeof atc !== 'string') throw unauthorized('tkauth-01: no token was presented (answer the challenge with {"atc": "<token>"})');
    if (!r.accountId) throw malformed('tkauth-01: no account');
    let identifiers, subject;
    try {
      ({ identifiers, subject } = await this.#tokens.forAccount(r.accountId)(atc));
    } catch (e) {
      if (isCaError(e)) throw unauthorized(`tkauth-01: ${e.detail}`);
      throw e;
    }
    const wanted = `${r.identifier.type}:${r.identifier.value}`;
    if (!identifiers.some((i) => `${i.type}:${i.value}` === wanted)) {
      throw unauthorized(`tkauth-01: the token grants ${identifiers.map((i) => `${i.type}:${i.value}`).join(', ')}, not ${wanted}`);
    }
    return subject;
  }
}
