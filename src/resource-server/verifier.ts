import { createHash } from 'node:crypto';
import { request } from 'node:https';
import { createLocalJWKSet, createRemoteJWKSet, customFetch, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/** Claims of a verified pki access token (RFC 9068 §2.2, RFC 8705 §3.1). */
export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
  acr: string;
  cnf: { 'x5t#S256': string };
}

/** Why a token was refused, as RFC 6750 §3.1 / RFC 9470 §3 name it, with the HTTP status and challenge. */
export class AccessTokenError extends Error {
  readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_user_authentication' | null;
  readonly status: number;
  readonly description: string;
  /** The WWW-Authenticate value to send (RFC 6750 §3). */
  readonly challenge: string;
  constructor(error: AccessTokenError['error'], description: string, extra: Record<string, string> = {}) {
    super(error ? `${error}: ${description}` : description);
    this.name = 'AccessTokenError';
    this.error = error;
    this.description = description;
    this.status = error === 'insufficient_scope' ? 403 : error === 'invalid_request' ? 400 : 401;
    const params = error ? { error, error_description: description.replace(/["\\]/g, "'"), ...extra } : {};
    this.challenge = ['Bearer', Object.entries(params).map(([k, v]) => `${k}="${v}"`).join(', ')].filter(Boolean).join(' ');
  }
}

export interface AccessTokenVerifierOptions {
  /** The authorization server's issuer (its RFC 8414 `issuer`: the pki TLS origin). */
  issuer: string;
  /** This resource server's identifier: the `resource` clients ask tokens for. */
  audience: string;
  /** Where the keys are: the JWKS URL (fetched, cached and refetched on an unknown kid), or a JWK Set. */
  jwks: string | URL | JSONWebKeySet;
  /** PEM of the CA to trust for an https JWKS URL (the pki root). */
  ca?: string;
  /** Verified tokens kept so a token used again costs a Map lookup (default 10,000). */
  cacheSize?: number;
  /** Epoch ms; tests move it. */
  now?: () => number;
  /** Least time between two JWKS fetches, an unknown kid included (default 30 s; pki publishes a new key 60 s before it signs). */
  refetchCooldownMs?: number;
}

export interface Requirements {
  /** Scopes the token must carry, every one. */
  scope?: string[];
  /** acr the request needs: the token's acr must include all its parts (`urn:pki:acr:fresh+profile:hsm`). */
  acr?: string;
}

const ACR_PREFIX = 'urn:pki:acr:';
const partsOf = (acr: string) => (acr.startsWith(ACR_PREFIX) ? acr.slice(ACR_PREFIX.length).split('+') : [acr]);

/**
 * Verifies pki access tokens for a Node service: ES256 signature against the authorization
 * server's JWKS (jose; the alg is pinned, so `none` or HS256 with the public key as secret fail),
 * `typ` at+jwt (RFC 9068 §4), iss, aud, exp, the required scopes and acr, and that `cnf.x5t#S256`
 * is the thumbprint of the TLS client certificate of this connection (RFC 8705 §3.2): a token
 * presented over another certificate is refused, however valid that certificate is.
 */
export class AccessTokenVerifier {
  readonly #o: AccessTokenVerifierOptions;
  readonly #keys: JWTVerifyGetKey;
  readonly #verified = new Map<string, AccessTokenClaims>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(o: AccessTokenVerifierOptions) {
    this.#o = o;
    this.#max = o.cacheSize ?? 10_000;
    this.#now = o.now ?? Date.now;
    this.#keys =
      typeof o.jwks === 'string' || o.jwks instanceof URL
        ? createRemoteJWKSet(new URL(o.jwks), { cooldownDuration: o.refetchCooldownMs ?? 30_000, cacheMaxAge: 600_000, ...(o.ca ? { [customFetch]: fetchTrusting(o.ca) } : {}) })
        : createLocalJWKSet(o.jwks);
  }

  /** `authorization`: the Authorization header value; `peerCertificate`: the DER of this connection's client certificate. */
  async verify(authorization: string | undefined, peerCertificate: Uint8Array | null, need: Requirements = {}): Promise<AccessTokenClaims> {
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
    if (!authorization) throw new AccessTokenError(null, 'an access token is required');
    if (!m) throw new AccessTokenError('invalid_request', 'the Authorization header is not "Bearer <token>"');
    const claims = await this.#claims(m[1]!);
    if (!peerCertificate) throw new AccessTokenError('invalid_token', 'the token is certificate-bound: present the client certificate it was issued to');
    if (thumbprintOf(peerCertificate) !== claims.cnf['x5t#S256']) throw new AccessTokenError('invalid_token', 'the token is bound to another certificate than this connection presents');
    const have = new Set(claims.scope.split(' '));
    const missing = (need.scope ?? []).filter((s) => !have.has(s));
    if (missing.length) throw new AccessTokenError('insufficient_scope', `the token lacks scope ${missing.join(' ')}`, { scope: (need.scope ?? []).join(' ') });
    if (need.acr) {
      const got = new Set(partsOf(claims.acr));
      if (!partsOf(need.acr).every((p) => got.has(p) || p === 'mtls')) {
        throw new AccessTokenError('insufficient_user_authentication', `this request needs acr ${need.acr}; the token has ${claims.acr}`, { acr_values: need.acr });
      }
    }
    return claims;
  }

  /** Signature and registered claims, once per token: later uses check only exp (the cache holds only what verified). */
  async #claims(token: string): Promise<AccessTokenClaims> {
    const now = this.#now();
    const hit = this.#verified.get(token);
    if (hit) {
      if (hit.exp! * 1000 > now) return hit;
      this.#verified.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
        currentDate: new Date(now),
      }));
    } catch (e) {
      throw new AccessTokenError('invalid_token', (e as Error).message);
    }
    const cnf = (payload.cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
    if (typeof cnf !== 'string' || typeof payload.scope !== 'string' || typeof payload.acr !== 'string') {
      throw new AccessTokenError('invalid_token', 'the token has no cnf.x5t#S256, scope or acr');
    }
    const claims = payload as AccessTokenClaims;
    if (this.#verified.size >= this.#max) this.#verified.clear();
    this.#verified.set(token, claims);
    return claims;
  }
}

/** base64url SHA-256 of a certificate's DER: RFC 8705 §3.1's x5t#S256. */
export function thumbprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}

/** A fetch for jose's remote JWKS that trusts `ca` (the pki root), which the global fetch cannot be told. */
function fetchTrusting(ca: string) {
  return (url: string, o: { headers: Headers; signal: AbortSignal }): Promise<Response> =>
    new Promise((resolve, reject) => {
      const req = request(url, { ca, headers: Object.fromEntries(o.headers), signal: o.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('error', reject);
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: res.headers as Record<string, string> })));
      });
      req.on('error', reject).end();
    });
}
