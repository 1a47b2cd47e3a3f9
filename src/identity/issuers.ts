import { X509Certificate } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { formatDuration } from '../domain/duration.ts';
import { IdentityIssuerRepository } from '../store/identity-issuers.ts';
import type { Store } from '../store/store.ts';
import { checkJwksDocument } from './jwks.ts';
import { compileTemplate, type TemplateSpec } from './template.ts';

/** `pki issuers add`: what the operator gives. Exactly one of `jwks` (a document) and `jwksUrl`. */
export interface AddIssuerOptions {
  issuer: string;
  audience: string;
  jwks?: string;
  jwksUrl?: string;
  /** PEM CA certificates for the JWKS URL's server (e.g. a cluster CA). */
  jwksCa?: string;
  template: TemplateSpec;
  maxLifetimeMs: number;
}

/** Operator view of a trusted issuer. */
export interface IssuerInfo {
  issuer: string;
  audience: string;
  keys: string;
  template: TemplateSpec;
  maxLifetime: string;
  createdAt: string;
}

/** Trusts a JWT issuer for workload enrollment, after checking everything that can be checked now; audited. */
export function addIssuer(inv: { store: Store }, o: AddIssuerOptions, clock: Clock): void {
  if (o.issuer.length === 0 || /\s/.test(o.issuer)) throw new CaError('malformed', '--issuer must be the tokens\' "iss" exactly (no spaces)');
  if (o.audience.length === 0) throw new CaError('malformed', '--audience must not be empty (the "aud" tokens for pki carry, e.g. pki)');
  if ((o.jwks === undefined) === (o.jwksUrl === undefined)) throw new CaError('malformed', 'give exactly one of --jwks-file and --jwks-url');
  if (o.jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(o.jwksUrl);
    } catch {
      throw new CaError('malformed', `--jwks-url ${JSON.stringify(o.jwksUrl)} is not a URL`);
    }
    if (url.protocol !== 'https:') throw new CaError('malformed', '--jwks-url must be https:// (keys fetched in the clear could be swapped)');
  } else if (o.jwksCa !== undefined) {
    throw new CaError('malformed', '--jwks-ca applies to --jwks-url only');
  }
  if (o.jwksCa !== undefined) checkCaPem(o.jwksCa);
  if (!Number.isFinite(o.maxLifetimeMs) || o.maxLifetimeMs <= 0) throw new CaError('malformed', '--max-lifetime must be a positive duration');
  compileTemplate(o.template);
  const jwks = o.jwks === undefined ? null : checkJwksDocument(o.jwks);
  const repo = new IdentityIssuerRepository(inv.store.db);
  inv.store.transaction(() => {
    const added = repo.insert({
      issuer: o.issuer,
      audience: o.audience,
      jwks,
      jwksUrl: o.jwksUrl ?? null,
      jwksCa: o.jwksCa ?? null,
      template: JSON.stringify(o.template),
      maxLifetimeMs: o.maxLifetimeMs,
      createdAt: clock.now(),
    });
    if (!added) throw new CaError('conflict', `issuer ${JSON.stringify(o.issuer)} is already trusted: remove it first to change it`);
    inv.store.audit.append({
      at: clock.now(),
      action: 'identity.issuer.added',
      actor: 'cli',
      target: o.issuer,
      details: { audience: o.audience, jwksUrl: o.jwksUrl ?? null, jwksKeys: jwks ? (JSON.parse(jwks) as { keys: unknown[] }).keys.length : null, template: o.template, maxLifetimeMs: o.maxLifetimeMs },
    });
  });
}

export function listIssuers(inv: { store: Store }): IssuerInfo[] {
  return new IdentityIssuerRepository(inv.store.db).list().map((r) => ({
    issuer: r.issuer,
    audience: r.audience,
    keys: r.jwksUrl ?? `file (${(JSON.parse(r.jwks!) as { keys: unknown[] }).keys.length} keys)`,
    template: JSON.parse(r.template) as TemplateSpec,
    maxLifetime: formatDuration(r.maxLifetimeMs),
    createdAt: r.createdAt.toISOString(),
  }));
}

/** Stops trusting an issuer: its tokens are refused from the next verification on; audited. */
export function removeIssuer(inv: { store: Store }, issuer: string, clock: Clock): void {
  const repo = new IdentityIssuerRepository(inv.store.db);
  inv.store.transaction(() => {
    if (!repo.remove(issuer)) throw new CaError('notFound', `issuer ${JSON.stringify(issuer)} is not trusted (see pki issuers list)`);
    inv.store.audit.append({ at: clock.now(), action: 'identity.issuer.removed', actor: 'cli', target: issuer });
  });
}

/** --jwks-ca: one or more PEM certificates, each one that parses (a bad file would only fail at the first token). */
function checkCaPem(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CaError('malformed', '--jwks-ca must be a PEM file of CA certificates');
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new CaError('malformed', `--jwks-ca certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  }
}
