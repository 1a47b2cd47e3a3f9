/**
 * An EST refusal (RFC 7030 §4.2.3): an HTTP status with a plain-text reason for the operator of
 * the device. 401 carries WWW-Authenticate (RFC 9110 §11.6.1); 405 carries Allow.
 */
export class EstError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** What the audit trail records as the reason class. */
  readonly code: string;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const isEstError = (e: unknown): e is EstError => e instanceof EstError;

/** The credential schemes simpleenroll accepts, as a 401 names them. */
export function challenges(bearer: boolean): Record<string, string> {
  return { 'WWW-Authenticate': bearer ? 'Basic realm="pki EST", Bearer realm="pki EST"' : 'Basic realm="pki EST"' };
}

export const estUnauthorized = (message: string, headers: Record<string, string> = challenges(false)) => new EstError(401, 'unauthorized', message, headers);
export const estForbidden = (code: string, message: string) => new EstError(403, code, message);
export const estBadRequest = (message: string) => new EstError(400, 'badRequest', message);
