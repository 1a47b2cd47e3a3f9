import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../domain/clock.ts';
import type { CertificateLookup, ClientAuthenticator } from './client-auth.ts';
import { errorReply, jsonReply, OAuthError, type OAuthReply } from './errors.ts';
import { parseForm } from './form.ts';
import type { OAuthEvent, TokenRequest, TokenSigner } from './token-service.ts';

export interface IntrospectionDeps {
  issuer: string;
  signer: TokenSigner;
  clients: ClientAuthenticator;
  lookup: CertificateLookup;
  clock: Clock;
  onEvent(e: OAuthEvent): void;
}

/**
 * Token introspection (RFC 7662) for resource servers that prefer asking: the caller authenticates
 * with its own pki certificate (§2.1 requires some authorization). A token is active when its
 * signature (one of our JWKS keys), iss, typ and exp hold and the certificate it is bound to is
 * still valid and not revoked, so a revocation ends its tokens at once for those who ask.
 */
export class IntrospectionService {
  readonly #d: IntrospectionDeps;
  constructor(d: IntrospectionDeps) {
    this.#d = d;
  }

  async introspect(req: TokenRequest): Promise<OAuthReply> {
    let token: string | undefined;
    try {
      this.#d.clients.authenticate(req.peerCertificate);
      token = parseForm(req.contentType, req.body).get('token');
      if (!token) throw new OAuthError('invalid_request', 'token is missing (RFC 7662 §2.1)');
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      this.#d.onEvent({ kind: 'refused', endpoint: 'introspect', error: e.code, description: e.description, clientId: null, serial: null });
      return errorReply(e);
    }
    const claims = await this.#verify(token);
    if (!claims) return jsonReply(200, { active: false });
    const { iss, sub, aud, client_id, scope, acr, iat, exp, jti, cnf } = claims;
    return jsonReply(200, { active: true, token_type: 'Bearer', iss, sub, aud, client_id, scope, acr, iat, exp, jti, cnf });
  }

  /** The claims of a token that is ours and live, bound to a certificate that still stands; else null. */
  async #verify(token: string): Promise<JWTPayload | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet(this.#d.signer.jwks() as Parameters<typeof createLocalJWKSet>[0]), {
        issuer: this.#d.issuer,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        currentDate: this.#d.clock.now(),
      }));
    } catch {
      return null;
    }
    const serial = payload.cert_serial;
    const bound = (payload.cnf as { 'x5t#S256'?: unknown } | undefined)?.['x5t#S256'];
    if (typeof serial !== 'string' || typeof bound !== 'string') return null;
    const record = this.#d.lookup.record(serial);
    if (!record?.der || record.status !== 'valid' || record.notAfter.getTime() <= this.#d.clock.now().getTime()) return null;
    return createHash('sha256').update(record.der).digest('base64url') === bound ? payload : null;
  }
}
