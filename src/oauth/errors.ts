/**
 * OAuth error codes this server answers with: RFC 6749 §5.2 (token endpoint), RFC 8707 §2
 * (invalid_target), RFC 9470 §3 (insufficient_user_authentication, used here at the token endpoint
 * too: the client's certificate does not meet a grant's step-up requirement).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'insufficient_user_authentication'
  | 'method_not_allowed'
  | 'server_error';

/** A refused OAuth request: its code, HTTP status and a description safe to show the client. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  /** Extra members of the error body (RFC 9470 acr_values, what a step-up needs). */
  readonly extra: Record<string, unknown>;
  constructor(code: OAuthErrorCode, description: string, o: { status?: number; extra?: Record<string, unknown> } = {}) {
    super(`${code}: ${description}`);
    this.name = 'OAuthError';
    this.code = code;
    // §5.2: 400 unless the client failed to authenticate (401).
    this.status = o.status ?? (code === 'invalid_client' ? 401 : code === 'server_error' ? 500 : 400);
    this.description = description;
    this.extra = o.extra ?? {};
  }
}

/** The JSON answer of an OAuth endpoint, as plain values any transport can write. */
export interface OAuthReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** RFC 6749 §5.1: token responses, and anything carrying a token or its state, are never cached. */
const NO_STORE = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): OAuthReply {
  return { status, headers: { ...NO_STORE, ...headers }, body: JSON.stringify(body) };
}

/** §5.2: `{"error", "error_description"}`; tls_client_auth failures carry no WWW-Authenticate (no Authorization header was used). */
export function errorReply(e: OAuthError, headers: Record<string, string> = {}): OAuthReply {
  return jsonReply(e.status, { error: e.code, error_description: e.description, ...e.extra }, headers);
}
