/**
 * ACME problem documents (RFC 8555 §6.7, RFC 7807). Each constructor fixes the
 * type and the HTTP status together, so a handler can only say *what* went wrong.
 */
import type { StoredProblem } from '../store/acme-records.ts';

const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** "rateLimited" for `urn:ietf:params:acme:error:rateLimited` (metrics labels); other types as they are. */
export const problemName = (type: string): string => (type.startsWith(ACME_ERROR) ? type.slice(ACME_ERROR.length) : type);

export interface Subproblem {
  type: string;
  detail: string;
  identifier?: { type: string; value: string };
}

export class AcmeProblem extends Error {
  readonly type: string;
  readonly status: number;
  readonly detail: string;
  readonly subproblems?: Subproblem[];
  /** Extra members, e.g. `algorithms` for badSignatureAlgorithm (§6.2). */
  readonly extra?: Record<string, unknown>;
  /** Response headers that belong to the problem (Location on 409, Retry-After on 429). */
  readonly headers?: Record<string, string>;

  constructor(type: string, status: number, detail: string, o: { subproblems?: Subproblem[]; extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(detail);
    this.name = 'AcmeProblem';
    this.type = type.includes(':') ? type : ACME_ERROR + type;
    this.status = status;
    this.detail = detail;
    this.subproblems = o.subproblems;
    this.extra = o.extra;
    this.headers = o.headers;
  }

  toJSON(): Record<string, unknown> {
    return { type: this.type, detail: this.detail, status: this.status, ...(this.subproblems ? { subproblems: this.subproblems } : {}), ...this.extra };
  }

  /** As the `error` member of an order or challenge (§7.1.3, §8), stored with it: type, detail and status only. */
  embedded(): StoredProblem {
    return { type: this.type, detail: this.detail, status: this.status };
  }

  /** As one of a problem's subproblems, about one identifier (§6.7.1). */
  about(identifier: { type: string; value: string }): Subproblem {
    return { type: this.type, detail: this.detail, identifier };
  }
}

export const isAcmeProblem = (e: unknown): e is AcmeProblem => e instanceof AcmeProblem;

// RFC 8555 §6.7 error types, one constructor each.
export const malformed = (detail: string) => new AcmeProblem('malformed', 400, detail);
export const notFound = (detail = 'no such resource') => new AcmeProblem('malformed', 404, detail);
export const methodNotAllowed = (detail: string) => new AcmeProblem('malformed', 405, detail);
export const conflict = (detail: string, location?: string) => new AcmeProblem('malformed', 409, detail, location ? { headers: { Location: location } } : {});
/** The unread rest of the body would stall the connection: close it after answering (RFC 9110 §15.5.14). */
export const payloadTooLarge = (detail: string) => new AcmeProblem('malformed', 413, detail, { headers: { Connection: 'close' } });
/** §6.2: anything but application/jose+json on a POST. */
export const unsupportedMediaType = (detail: string) => new AcmeProblem('malformed', 415, detail);
export const badNonce = (detail: string) => new AcmeProblem('badNonce', 400, detail);
export const badSignatureAlgorithm = (detail: string, algorithms: string[]) => new AcmeProblem('badSignatureAlgorithm', 400, detail, { extra: { algorithms } });
export const badPublicKey = (detail: string) => new AcmeProblem('badPublicKey', 400, detail);
export const unauthorized = (detail: string) => new AcmeProblem('unauthorized', 403, detail);
/** §7.3.6: a request signed by a deactivated (or revoked) account is 401, not 403. */
export const accountUnauthorized = (detail: string) => new AcmeProblem('unauthorized', 401, detail);
/** RFC 9773 §5: a newOrder whose "replaces" names a certificate another order already replaces. */
export const alreadyReplaced = (detail: string) => new AcmeProblem('alreadyReplaced', 409, detail);
export const accountDoesNotExist = (detail: string) => new AcmeProblem('accountDoesNotExist', 400, detail);
export const externalAccountRequired = (detail: string) => new AcmeProblem('externalAccountRequired', 400, detail);
export const invalidContact = (detail: string) => new AcmeProblem('invalidContact', 400, detail);
export const unsupportedContact = (detail: string) => new AcmeProblem('unsupportedContact', 400, detail);
export const rejectedIdentifier = (detail: string, subproblems?: Subproblem[]) => new AcmeProblem('rejectedIdentifier', 400, detail, { subproblems });
export const unsupportedIdentifier = (detail: string) => new AcmeProblem('unsupportedIdentifier', 400, detail);
export const badCsr = (detail: string) => new AcmeProblem('badCSR', 400, detail);
export const orderNotReady = (detail: string) => new AcmeProblem('orderNotReady', 403, detail);
export const rateLimited = (detail: string, retryAfterS: number) => new AcmeProblem('rateLimited', 429, detail, { headers: { 'Retry-After': String(retryAfterS) } });
export const badRevocationReason = (detail: string) => new AcmeProblem('badRevocationReason', 400, detail);
export const alreadyRevoked = (detail: string) => new AcmeProblem('alreadyRevoked', 400, detail);
export const connection = (detail: string) => new AcmeProblem('connection', 400, detail);
export const incorrectResponse = (detail: string) => new AcmeProblem('incorrectResponse', 403, detail);
export const dnsProblem = (detail: string) => new AcmeProblem('dns', 400, detail);
export const tlsProblem = (detail: string) => new AcmeProblem('tls', 400, detail);
/** draft-aaron-acme-profiles: a newOrder naming a profile the server does not offer. */
export const invalidProfile = (detail: string) => new AcmeProblem('invalidProfile', 400, detail);
/** Its detail never names the internal cause: that goes to the log only. */
export const serverInternal = (detail = 'the server could not complete the request') => new AcmeProblem('serverInternal', 500, detail);
