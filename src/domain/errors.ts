/**
 * The one error type domain code throws. `kind` says what went wrong in terms
 * the edges can map (HTTP problem, CLI exit code); `detail` is safe to show to
 * the caller; `cause` is for logs only and never reaches a client.
 */
export type CaErrorKind =
  | 'badCsr' // the request to sign is malformed, mis-signed or asks for something refused
  | 'badKey' // a public key breaks the key rules
  | 'rejectedIdentifier' // a name the caller may not have
  | 'malformed' // bad input that is not a CSR
  | 'notFound'
  | 'conflict' // already exists / already done
  | 'alreadyRevoked'
  | 'unauthorized'
  | 'config' // the instance's configuration is missing or invalid
  | 'keyStore' // the key store failed or refused
  | 'unavailable' // a server we depend on cannot be reached
  | 'refused' // a remote CA refused the request (its problem detail says why)
  | 'internal';

export class CaError extends Error {
  readonly kind: CaErrorKind;
  readonly detail: string;
  /** For a refusal that passes by itself (`unavailable` while the log's start check runs): when to ask again, as edges say it (Retry-After). */
  readonly retryAfterS?: number;
  constructor(kind: CaErrorKind, detail: string, options?: { cause?: unknown; retryAfterS?: number }) {
    super(detail, options);
    this.name = 'CaError';
    this.kind = kind;
    this.detail = detail;
    if (options?.retryAfterS !== undefined) this.retryAfterS = options.retryAfterS;
  }
}

export function isCaError(e: unknown, kind?: CaErrorKind): e is CaError {
  return e instanceof CaError && (kind === undefined || e.kind === kind);
}
