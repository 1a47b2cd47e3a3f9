import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { fixedClock } from '../../src/domain/clock.ts';
import { addIssuer, type AddIssuerOptions } from '../../src/identity/issuers.ts';
import { createWorkloadTokens, type IdentityDeps } from '../../src/identity/verifier.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';

export const ISS = 'https://kubernetes.default.svc.cluster.local';
/** Made while the importing file is collected, so its afterAll removes every fixture's database. */
const root = tempDir('pki-identity-');
export const NOW = new Date('2026-12-01T12:00:00Z');
export const nowS = () => Math.floor(NOW.getTime() / 1000);

/** The Kubernetes template of docs/workloads.md: service account → SPIFFE ID and a cluster DNS name. */
export const K8S_TEMPLATE = {
  subject: '^system:serviceaccount:(?<ns>[a-z0-9-]+):(?<sa>[a-z0-9-]+)$',
  claims: {},
  identifiers: ['uri:spiffe://corp/ns/{ns}/sa/{sa}', 'dns:{sa}.{ns}.svc'],
};

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(alg = 'RS256', kid = `k-${alg}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export const jwks = (...keys: SigningKey[]) => JSON.stringify({ keys: keys.map((k) => k.publicJwk) });

/** A Kubernetes-shaped projected service-account token (audience pki, 10 min, with a jti). */
export function k8sClaims(ns = 'payments', sa = 'api', over: JWTPayload = {}): JWTPayload {
  return {
    iss: ISS,
    aud: ['pki'],
    sub: `system:serviceaccount:${ns}:${sa}`,
    iat: nowS(),
    nbf: nowS(),
    exp: nowS() + 600,
    jti: crypto.randomUUID(),
    'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: crypto.randomUUID() } },
    ...over,
  };
}

export function sign(k: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT', ...header }).sign(k.privateKey);
}

/** An instance database with one trusted issuer, a clock at NOW and the verifier over them. */
export function identityFixture(o: Partial<AddIssuerOptions> & { deps?: Partial<IdentityDeps> } = {}) {
  const store: Store = openStore(join(mkdtempSync(join(root, 'db-')), 'pki.db'), { create: true });
  const clock = fixedClock(NOW);
  if (o.jwks || o.jwksUrl) {
    addIssuer({ store }, { issuer: ISS, audience: 'pki', template: K8S_TEMPLATE, maxLifetimeMs: 24 * 3_600_000, ...o }, clock);
  }
  const tokens = createWorkloadTokens({ db: store.db, clock, ...o.deps });
  /** Audit events of one action, oldest first. */
  const audit = (action: string) => store.audit.list({ limit: 100_000 }).filter((e) => e.action === action);
  return { store, clock, tokens, audit };
}
