import type { Clock } from '../domain/clock.ts';
import { ClientAuthenticator, type CertificateLookup } from './client-auth.ts';
import type { OAuthReply } from './errors.ts';
import { IntrospectionService } from './introspection.ts';
import { authorizationServerMetadata } from './metadata.ts';
import { TokenService, type GrantSource, type OAuthEvent, type TokenRequest, type TokenSigner } from './token-service.ts';

export interface OAuthServerDeps {
  issuer: string;
  /** The intermediate's DER: client certificates must be issued (and signed) by it. */
  issuerCertificate: Uint8Array;
  signer: TokenSigner & { refresh?(): Promise<void> };
  grants: GrantSource;
  lookup: CertificateLookup;
  clock: Clock;
  onEvent(e: OAuthEvent): void;
}

/** How often the signing keys are re-read, so a `pki keys rotate-token` by another process takes effect. */
const KEY_REFRESH_MS = 10_000;

/** The authorization server: token endpoint, introspection, JWKS and metadata, transport-free. */
export class OAuthServer {
  readonly issuer: string;
  readonly #signer: OAuthServerDeps['signer'];
  readonly #token: TokenService;
  readonly #introspection: IntrospectionService;
  readonly #clock: Clock;
  readonly #metadata: string;
  #refreshedAt: number;

  constructor(d: OAuthServerDeps) {
    this.issuer = d.issuer;
    this.#signer = d.signer;
    this.#clock = d.clock;
    this.#refreshedAt = d.clock.now().getTime();
    const clients = new ClientAuthenticator({ issuerDer: d.issuerCertificate, lookup: d.lookup, clock: d.clock });
    this.#token = new TokenService({ issuer: d.issuer, signer: d.signer, grants: recentGrants(d.grants, d.clock), clients, clock: d.clock, onEvent: d.onEvent });
    this.#introspection = new IntrospectionService({ issuer: d.issuer, signer: d.signer, clients, lookup: d.lookup, clock: d.clock, onEvent: d.onEvent });
    this.#metadata = JSON.stringify(authorizationServerMetadata(d.issuer));
  }

  async token(req: TokenRequest): Promise<OAuthReply> {
    await this.#freshen();
    return this.#token.token(req);
  }

  async introspect(req: TokenRequest): Promise<OAuthReply> {
    await this.#freshen();
    return this.#introspection.introspect(req);
  }

  /** RFC 7517 JWK Set; cacheable briefly, so resource servers see a rotation within a minute. */
  async jwks(): Promise<OAuthReply> {
    await this.#freshen();
    return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=60' }, body: JSON.stringify(this.#signer.jwks()) };
  }

  metadata(): OAuthReply {
    return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' }, body: this.#metadata };
  }

  async #freshen(): Promise<void> {
    const now = this.#clock.now().getTime();
    if (now - this.#refreshedAt < KEY_REFRESH_MS || !this.#signer.refresh) return;
    this.#refreshedAt = now;
    await this.#signer.refresh();
  }
}

/** How long grants read from the store are reused: `pki grants add/remove` takes effect within this. */
const GRANTS_FRESH_MS = 1_000;

/** The grants of each audience, re-read at most every GRANTS_FRESH_MS (a query per token request was 2% of its CPU). */
function recentGrants(source: GrantSource, clock: Clock): GrantSource {
  const cache = new Map<string, { at: number; grants: ReturnType<GrantSource['grantsFor']> }>();
  return {
    grantsFor(audience) {
      const now = clock.now().getTime();
      const hit = cache.get(audience);
      if (hit && now - hit.at < GRANTS_FRESH_MS) return hit.grants;
      if (cache.size > 1_000) cache.clear();
      const grants = source.grantsFor(audience);
      cache.set(audience, { at: now, grants });
      return grants;
    },
    audiences: () => source.audiences(),
  };
}
