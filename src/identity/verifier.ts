import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../domain/clock.ts';
import { CaError, isCaError } from '../domain/errors.ts';
import { formatDuration } from '../domain/duration.ts';
import type { Logger } from '../domain/log.ts';
import type { WorkloadGrant, WorkloadTokenVerifier } from '../domain/workload-token.ts';
import { AuditRepository } from '../store/audit.ts';
import { IdentityIssuerRepository } from '../store/identity-issuers.ts';
import { immediateTransactions, type Db } from '../store/sqlite.ts';
import { KeySets, type JwksTiming } from './jwks.ts';
import { storedTemplate } from './template.ts';

/**
 * Signature algorithms a token may use: asymmetric only. `none` and HS* never, so a public key
 * can never serve as an HMAC secret (the RS256 → HS256 confusion), whatever the key set holds.
 */
export const TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519'] as const;

/** exp/nbf/iat may be off by this much (clocks of the issuer and pki differ). */
export const DEFAULT_SKEW_MS = 60_000;
/** A token valid for longer than this must carry a `jti`, which pki then accepts once. */
export const SHORT_EXPIRY_MS = 5 * 60_000;
const MAX_TOKEN_CHARS = 16_384;

export interface IdentityDeps {
  /** A connection to the instance database (identity tables and the audit trail). */
  db: Db;
  clock: Clock;
  logger?: Logger;
  jwks?: Partial<JwksTiming>;
  skewMs?: number;
}

/** The verifier in both forms: for a presenter (an ACME account) that may show one token more than once, and single-use. */
export interface WorkloadTokens {
  /** A verifier for tokens presented by `presenter`: a jti already seen is accepted again only from the same presenter. */
  forPresenter(presenter: string): WorkloadTokenVerifier;
  /** Tokens are used once (EST simpleenroll). */
  verify: WorkloadTokenVerifier;
  /** True when at least one issuer is trusted (tkauth-01 is offered only then). */
  offered(): boolean;
}

/** `createWorkloadTokenVerifier(deps)`: the single-use verifier EST and other callers take as a WorkloadTokenVerifier. */
export function createWorkloadTokenVerifier(deps: IdentityDeps): WorkloadTokenVerifier {
  return createWorkloadTokens(deps).verify;
}

/**
 * Verifies workload identity tokens against the trusted issuers (`pki issuers`): signature by a
 * key of the issuer's JWKS under an allowed algorithm, `iss`, `aud`, `exp`/`nbf` within the skew,
 * at most the issuer's maximum lifetime, a `jti` not seen before, and the issuer's template
 * mapping the claims to identifiers. Every outcome is audited; a refusal is a CaError saying why.
 */
export function createWorkloadTokens(deps: IdentityDeps): WorkloadTokens {
  const issuers = new IdentityIssuerRepository(deps.db);
  const audit = new AuditRepository(deps.db);
  const transaction = immediateTransactions(deps.db);
  const keySets = new KeySets(deps.jwks);
  const skewMs = deps.skewMs ?? DEFAULT_SKEW_MS;

  const verify = async (token: string, presenter: string | null): Promise<WorkloadGrant> => {
    const seen: { issuer?: string; subject?: string; jti?: string } = {};
    try {
      const grant = await check(token, presenter, seen);
      transaction(() => {
        if (seen.jti !== undefined && !issuers.use({ issuer: grant.issuer, jti: seen.jti, presenter, expiresAt: new Date(expOf(token) * 1000 + skewMs), now: deps.clock.now() })) {
          throw refuse(`token ${JSON.stringify(seen.jti)} was already used: a token id (jti) is accepted once`);
        }
        audit.append({ at: deps.clock.now(), action: 'identity.token.accepted', actor: presenter ?? 'token', target: grant.issuer, details: { subject: grant.subject, jti: seen.jti ?? null, identifiers: grant.identifiers.map((i) => `${i.type}:${i.value}`) } });
      });
      return grant;
    } catch (e) {
      const err = isCaError(e) ? e : new CaError('unauthorized', `the token could not be verified: ${(e as Error).message}`);
      transaction(() => audit.append({ at: deps.clock.now(), action: 'identity.token.refused', actor: presenter ?? 'token', target: seen.issuer ?? null, details: { subject: seen.subject ?? null, jti: seen.jti ?? null, reason: err.detail } }));
      deps.logger?.warn('identity.token.refused', { issuer: seen.issuer ?? null, subject: seen.subject ?? null, reason: err.detail });
      throw err;
    }
  };

  async function check(token: string, presenter: string | null, seen: { issuer?: string; subject?: string; jti?: string }): Promise<WorkloadGrant> {
    if (typeof token !== 'string' || token.length === 0) throw refuse('no token');
    if (token.length > MAX_TOKEN_CHARS) throw refuse(`the token is longer than ${MAX_TOKEN_CHARS} characters`);
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      unverified = decodeJwt(token);
    } catch {
      throw refuse('not a compact signed JWT (header.payload.signature)');
    }
    if (typeof alg !== 'string' || !(TOKEN_ALGORITHMS as readonly string[]).includes(alg)) {
      throw refuse(`algorithm ${JSON.stringify(alg ?? null)} is not allowed (only ${TOKEN_ALGORITHMS.join(', ')}: never none, never HMAC)`);
    }
    if (typeof unverified.iss !== 'string') throw refuse('the token has no "iss"');
    const record = issuers.get(unverified.iss);
    if (!record) throw refuse(`issuer ${JSON.stringify(unverified.iss)} is not trusted (see pki issuers list)`);
    seen.issuer = record.issuer;

    const now = deps.clock.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySets.of(record), {
        issuer: record.issuer,
        audience: record.audience,
        algorithms: [...TOKEN_ALGORITHMS],
        clockTolerance: Math.floor(skewMs / 1000),
        currentDate: now,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (e) {
      throw joseRefusal(e, record.audience, record.issuer);
    }
    seen.subject = String(payload.sub);
    if (typeof payload.jti === 'string') seen.jti = payload.jti;
    const exp = payload.exp! * 1000;
    if (payload.iat !== undefined && payload.iat * 1000 > now.getTime() + skewMs) throw refuse(`the token was issued in the future (iat ${iso(payload.iat * 1000)})`);
    const lifetime = exp - (payload.iat !== undefined ? payload.iat * 1000 : now.getTime());
    if (lifetime > record.maxLifetimeMs) throw refuse(`the token is valid for ${formatDuration(lifetime)}, longer than the ${formatDuration(record.maxLifetimeMs)} this issuer is trusted for`);
    if (payload.jti !== undefined && (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256)) throw refuse('"jti" must be a string of 1 to 256 characters');
    if (payload.jti === undefined && exp - now.getTime() > SHORT_EXPIRY_MS) {
      throw refuse(`the token has no "jti" and is valid until ${iso(exp)}: a token valid for more than ${formatDuration(SHORT_EXPIRY_MS)} must carry a jti, so a replay can be refused`);
    }
    let template;
    try {
      template = storedTemplate(record.template);
    } catch (e) {
      throw refuse(`the issuer's stored template no longer compiles (${(e as Error).message})`);
    }
    void presenter;
    return { issuer: record.issuer, subject: seen.subject, identifiers: template.apply(payload as Record<string, unknown>) };
  }

  return {
    verify: (token) => verify(token, null),
    forPresenter: (presenter) => (token) => verify(token, presenter),
    offered: () => issuers.count() > 0,
  };
}

const refuse = (why: string) => new CaError('unauthorized', `workload token refused: ${why}`);
const iso = (ms: number) => new Date(ms).toISOString();
const expOf = (token: string) => decodeJwt(token).exp!;

/** jose's verdicts as refusals that say which check failed. */
function joseRefusal(e: unknown, audience: string, issuer: string): CaError {
  if (e instanceof errors.JWTExpired) return refuse(`the token expired (exp ${iso(Number(e.payload.exp) * 1000)})`);
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return refuse(`the token is not yet valid (nbf ${iso(Number(e.payload.nbf) * 1000)})`);
    if (e.claim === 'aud') return refuse(`the token is for another audience (${JSON.stringify(e.payload.aud ?? null)}; pki expects "${audience}")`);
    if (e.claim === 'iss') return refuse(`the token's issuer is not ${JSON.stringify(issuer)}`);
    return refuse(`claim "${e.claim}" ${e.reason === 'missing' ? 'is missing' : `is invalid (${e.message})`}`);
  }
  if (e instanceof errors.JWKSNoMatchingKey) return refuse(`no key of ${issuer}'s JWKS matches the token's kid and algorithm`);
  if (e instanceof errors.JWKSMultipleMatchingKeys) return refuse(`several keys of ${issuer}'s JWKS match the token: give each key a distinct kid`);
  if (e instanceof errors.JWSSignatureVerificationFailed) return refuse('the signature does not verify with the issuer\'s key');
  if (e instanceof errors.JOSEAlgNotAllowed) return refuse(`the algorithm is not allowed (${e.message})`);
  if (e instanceof errors.JWKSTimeout) return new CaError('unavailable', `workload token refused: ${issuer}'s JWKS endpoint timed out and no cached key applies`);
  if (e instanceof errors.JOSEError) return refuse(`${e.code}: ${e.message}`);
  return new CaError('unavailable', `workload token refused: ${issuer}'s keys could not be fetched (${(e as Error).message}) and no cached key applies`);
}
