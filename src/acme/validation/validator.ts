import { createHash } from 'node:crypto';
import type { Resolver } from 'node:dns/promises';
import type { Identifier } from '../../domain/types.ts';

/** What a validator needs to check one challenge. */
export interface ValidationRequest {
  identifier: Identifier;
  token: string;
  /** token "." base64url(JWK thumbprint) (RFC 8555 §8.1). */
  keyAuthorization: string;
  /** The account answering (tkauth-01 binds a token to the first account presenting it). */
  accountId?: string;
  /** The client's challenge response payload, when its type carries one (tkauth-01: `{"atc": …}`). */
  response?: Record<string, unknown>;
}

/** One challenge type (http-01, dns-01, tls-alpn-01, tkauth-01). Resolves when valid; throws an AcmeProblem otherwise. */
export interface Validator {
  readonly type: string;
  validate(r: ValidationRequest): Promise<void>;
}

/** Where validators connect: ports and DNS server are configurable for tests and local use (like Pebble's). */
export interface ValidationSettings {
  http01Port: number;
  tlsAlpn01Port: number;
  /** HOST:PORT of the DNS server for A/AAAA/TXT lookups; undefined = the system resolver. */
  dnsServer?: string;
  timeoutMs: number;
}

export const keyAuthorization = (token: string, thumbprint: string): string => `${token}.${thumbprint}`;

/** SHA-256 of the key authorization: the TXT value of dns-01 (base64url) and the tls-alpn-01 extension (raw). */
export const keyAuthorizationDigest = (keyAuth: string): Buffer => createHash('sha256').update(keyAuth).digest();

/** A validator that reaches the client's server: the validation settings and the resolver that finds its address. */
export abstract class NetworkValidator implements Validator {
  abstract readonly type: string;
  protected readonly settings: ValidationSettings;
  protected readonly resolver: Resolver;

  constructor(settings: ValidationSettings, resolver: Resolver) {
    this.settings = settings;
    this.resolver = resolver;
  }

  abstract validate(r: ValidationRequest): Promise<void>;
}
