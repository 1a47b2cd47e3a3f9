import { randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import type { OAuthGrant } from '../store/oauth-grants.ts';
import type { AuthenticatedClient, ClientAuthenticator } from './client-auth.ts';
import { errorReply, jsonReply, OAuthError, type OAuthReply } from './errors.ts';
import { parseForm } from './form.ts';
import { clientMatches, decide } from './grants.ts';

/** What signs access tokens (authority/token-signing.ts): claims in, a compact JWS out; the public JWKS. */
export interface TokenSigner {
  signAccessToken(claims: Record<string, unknown>): Promise<string>;
  jwks(): { keys: object[] };
}

/** The grants the token endpoint reads (store/oauth-grants.ts). */
export interface GrantSource {
  grantsFor(audience: string): OAuthGrant[];
  audiences(): string[];
}

/** A refused or issued request, for the audit trail and metrics. */
export type OAuthEvent =
  | { kind: 'issued'; client: AuthenticatedClient; audience: string; scopes: string[]; acr: string; jti: string; exp: number }
  | { kind: 'refused'; endpoint: 'token' | 'introspect'; error: string; description: string; clientId: string | null; serial: string | null };

export interface OAuthServiceDeps {
  /** The issuer identifier (RFC 8414 §2): the TLS origin, https://HOST:PORT. */
  issuer: string;
  signer: TokenSigner;
  grants: GrantSource;
  clients: ClientAuthenticator;
  clock: Clock;
  /** Told of every issued token and every refusal (metrics, audit). */
  onEvent(e: OAuthEvent): void;
}

/** A token request as the HTTP adapter hands it over. */
export interface TokenRequest {
  contentType: string | undefined;
  body: Buffer;
  peerCertificate: Uint8Array | null;
}

/**
 * The token endpoint (RFC 6749 §4.4 client credentials), the client authenticated by its pki
 * certificate (RFC 8705 §2.1), answering an RFC 9068 JWT access token bound to that certificate
 * (RFC 8705 §3.1 cnf.x5t#S256) for one audience (RFC 8707 `resource`).
 */
export class TokenService {
  readonly #d: OAuthServiceDeps;
  constructor(d: OAuthServiceDeps) {
    this.#d = d;
  }

  async token(req: TokenRequest): Promise<OAuthReply> {
    let client: AuthenticatedClient | null = null;
    try {
      client = this.#d.clients.authenticate(req.peerCertificate);
      return await this.#issue(client, parseForm(req.contentType, req.body));
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      this.#d.onEvent({ kind: 'refused', endpoint: 'token', error: e.code, description: e.description, clientId: client?.clientId ?? null, serial: client?.serial ?? null });
      return errorReply(e);
    }
  }

  async #issue(client: AuthenticatedClient, form: Map<string, string>): Promise<OAuthReply> {
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError('invalid_request', 'grant_type is missing (RFC 6749 §4.4.2: client_credentials)');
    if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', `grant_type "${grantType}" is not supported: only client_credentials`);
    // RFC 8705 §2.1: a client_id sent along must be the one the certificate authenticates.
    const clientIdParam = form.get('client_id');
    if (clientIdParam !== undefined && clientIdParam !== client.clientId) throw new OAuthError('invalid_client', `client_id "${clientIdParam}" is not the certificate's (${client.clientId})`);
    const audience = this.#audience(client, form.get('resource'));
    const requested = form.has('scope') ? parseScope(form.get('scope')!) : null;
    const now = this.#d.clock.now();
    const decision = decide(this.#d.grants.grantsFor(audience), client, audience, requested, now);
    const iat = Math.floor(now.getTime() / 1000);
    const exp = Math.min(iat + Math.floor(decision.ttlMs / 1000), Math.floor(client.notAfter.getTime() / 1000));
    const jti = randomBytes(16).toString('base64url');
    const scope = decision.scopes.join(' ');
    // RFC 9068 §2.2 claims, cnf per RFC 8705 §3.1; cert_serial lets introspection find the bound certificate's status.
    const token = await this.#d.signer.signAccessToken({
      iss: this.#d.issuer,
      sub: client.clientId,
      aud: audience,
      client_id: client.clientId,
      scope,
      acr: decision.acr,
      iat,
      exp,
      jti,
      cnf: { 'x5t#S256': client.thumbprint },
      cert_serial: client.serial,
    });
    this.#d.onEvent({ kind: 'issued', client, audience, scopes: decision.scopes, acr: decision.acr, jti, exp });
    return jsonReply(200, { access_token: token, token_type: 'Bearer', expires_in: exp - iat, scope });
  }

  /**
   * RFC 8707 §2: `resource` is an absolute URI without a fragment, and one per request here (the
   * repeated form is refused as a repeated parameter). Omitted: the one audience granted to this
   * client, when there is exactly one.
   */
  #audience(client: AuthenticatedClient, resource: string | undefined): string {
    if (resource !== undefined) {
      let u: URL;
      try {
        u = new URL(resource);
      } catch {
        throw new OAuthError('invalid_target', `resource "${resource}" is not an absolute URI (RFC 8707 §2)`);
      }
      if (resource.includes('#') || u.hash) throw new OAuthError('invalid_target', `resource "${resource}" has a fragment (RFC 8707 §2 forbids it)`);
      return resource;
    }
    const audiences = this.#d.grants.audiences().filter((a) => this.#d.grants.grantsFor(a).some((g) => clientMatches(g.client, client.clientId)));
    if (audiences.length === 1) return audiences[0]!;
    throw new OAuthError('invalid_target', audiences.length ? `give resource: ${client.clientId} is granted several (${audiences.join(', ')})` : `client ${client.clientId} has no grant`);
  }
}

/** RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E separated by single spaces. */
function parseScope(text: string): string[] {
  const parts = text.split(' ');
  for (const p of parts) if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(p)) throw new OAuthError('invalid_scope', `scope "${text}" is not space-separated scope tokens (RFC 6749 §3.3)`);
  if (new Set(parts).size !== parts.length) throw new OAuthError('invalid_scope', `scope "${text}" names a scope twice`);
  return parts;
}
