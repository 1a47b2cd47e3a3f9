import { createHmac, createPublicKey } from 'node:crypto';
import { exportSPKI } from 'jose';
import { describe, expect, it } from 'vitest';
import { addIssuer, removeIssuer } from '../../src/identity/issuers.ts';
import { createWorkloadTokens } from '../../src/identity/verifier.ts';
import { openStore } from '../../src/store/store.ts';
import { identityFixture, ISS, jwks, K8S_TEMPLATE, k8sClaims, nowS, sign, signingKey } from './support.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('workload token verifier: accepted tokens', () => {
  it('ok/a Kubernetes-shaped RS256 token yields exactly the template identifiers, audited', async () => {
    const k = await signingKey('RS256');
    const f = identityFixture({ jwks: jwks(k) });
    const grant = await f.tokens.verify(await sign(k, k8sClaims('payments', 'api')));
    expect(grant).toEqual({
      issuer: ISS,
      subject: 'system:serviceaccount:payments:api',
      identifiers: [
        { type: 'uri', value: 'spiffe://corp/ns/payments/sa/api' },
        { type: 'dns', value: 'api.payments.svc' },
      ],
    });
    const [event] = f.audit('identity.token.accepted');
    expect(event?.target).toBe(ISS);
    expect(event?.details).toMatchObject({ subject: 'system:serviceaccount:payments:api', identifiers: ['uri:spiffe://corp/ns/payments/sa/api', 'dns:api.payments.svc'] });
  });

  it.each(['ES256', 'ES384', 'PS256', 'RS512', 'EdDSA'])('ok/%s is allowed', async (alg) => {
    const k = await signingKey(alg);
    const f = identityFixture({ jwks: jwks(k) });
    await expect(f.tokens.verify(await sign(k, k8sClaims()))).resolves.toMatchObject({ issuer: ISS });
  });

  it('ok/{claim.a/b} placeholders read nested claims (the kubernetes.io object)', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k), template: { subject: null, claims: {}, identifiers: ['dns:{claim.kubernetes.io/serviceaccount/name}.{claim.kubernetes.io/namespace}.svc'] } });
    const grant = await f.tokens.verify(await sign(k, k8sClaims('shop', 'web')));
    expect(grant.identifiers).toEqual([{ type: 'dns', value: 'web.shop.svc' }]);
  });

  it('ok/exp and nbf are allowed 60 s of skew, not more', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    await expect(f.tokens.verify(await sign(k, k8sClaims('a', 'b', { iat: nowS() - 600, exp: nowS() - 50 })))).resolves.toBeDefined();
    await expect(f.tokens.verify(await sign(k, k8sClaims('a', 'b', { nbf: nowS() + 50 })))).resolves.toBeDefined();
  });

  it('ok/a short-lived token (≤ 5 min left) needs no jti', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    await expect(f.tokens.verify(await sign(k, k8sClaims('a', 'b', { jti: undefined, exp: nowS() + 240 })))).resolves.toBeDefined();
  });
});

describe('workload token verifier: bad input, each refused with its reason and audited', () => {
  async function refused(token: string | Promise<string>, reason: RegExp, f?: ReturnType<typeof identityFixture>) {
    const fx = f!;
    const before = fx.audit('identity.token.refused').length;
    const err = await fx.tokens.verify(await token).then(
      () => null,
      (e: unknown) => e as { kind: string; detail: string },
    );
    expect(err, 'the token was accepted').not.toBeNull();
    expect(err!.detail).toMatch(reason);
    expect(['unauthorized', 'unavailable']).toContain(err!.kind);
    const events = fx.audit('identity.token.refused');
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)!.details.reason).toBe(err!.detail);
    return err!;
  }

  it('bad/expired, not yet valid, issued in the future, too long-lived', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k), maxLifetimeMs: 3_600_000 });
    await refused(sign(k, k8sClaims('a', 'b', { iat: nowS() - 3000, exp: nowS() - 61 })), /expired/, f);
    await refused(sign(k, k8sClaims('a', 'b', { nbf: nowS() + 120 })), /not yet valid/, f);
    await refused(sign(k, k8sClaims('a', 'b', { iat: nowS() + 300, exp: nowS() + 900 })), /issued in the future/, f);
    await refused(sign(k, k8sClaims('a', 'b', { exp: nowS() + 7200 })), /valid for 2h, longer than the 1h/, f);
    await refused(sign(k, k8sClaims('a', 'b', { exp: undefined })), /"exp"/, f);
  });

  it('bad/a replayed token is refused, also after a restart; one ACME account may show it again, another may not', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    const token = await sign(k, k8sClaims());
    await f.tokens.verify(token);
    await refused(token, /already used/, f);
    // A new verifier over the same database (pki serve restarted) still remembers the jti.
    const again = createWorkloadTokens({ db: openStore(f.store.db.name).db, clock: f.clock });
    await expect(again.verify(token)).rejects.toMatchObject({ detail: expect.stringMatching(/already used/) });

    const shared = await sign(k, k8sClaims());
    await f.tokens.forPresenter('account-1')(shared);
    await expect(f.tokens.forPresenter('account-1')(shared)).resolves.toBeDefined();
    await expect(f.tokens.forPresenter('account-2')(shared)).rejects.toMatchObject({ detail: expect.stringMatching(/already used/) });
    await expect(f.tokens.verify(shared)).rejects.toMatchObject({ detail: expect.stringMatching(/already used/) });
  });

  it('bad/a long-lived token without a jti is refused (it could be replayed)', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    await refused(sign(k, k8sClaims('a', 'b', { jti: undefined })), /no "jti"/, f);
  });

  it('bad/untrusted issuer, other audience', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    await refused(sign(k, k8sClaims('a', 'b', { iss: 'https://evil.example' })), /issuer "https:\/\/evil.example" is not trusted/, f);
    await refused(sign(k, k8sClaims('a', 'b', { aud: ['vault'] })), /another audience.*"pki"/, f);
  });

  it('bad/alg none, HS256 keyed with the RSA public key, an RS256 header on an HMAC', async () => {
    const k = await signingKey('RS256');
    const f = identityFixture({ jwks: jwks(k) });
    const claims = k8sClaims();
    await refused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, /algorithm "none" is not allowed/, f);
    // The classic confusion: the public key (as PEM and as DER) used as the HMAC secret.
    const pem = await exportSPKI(createPublicKey({ key: k.publicJwk as never, format: 'jwk' }) as never);
    for (const secret of [pem, createPublicKey(pem).export({ type: 'spki', format: 'der' })]) {
      const input = `${b64({ alg: 'HS256', kid: k.kid, typ: 'JWT' })}.${b64(claims)}`;
      await refused(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`, /algorithm "HS256" is not allowed/, f);
    }
    const input = `${b64({ alg: 'RS256', kid: k.kid })}.${b64(claims)}`;
    await refused(`${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`, /signature does not verify/, f);
  });

  it('bad/a kid not in the JWKS, a key of the same kid that is not the issuer\'s', async () => {
    const k = await signingKey('ES256', 'real');
    const f = identityFixture({ jwks: jwks(k) });
    await refused(sign(await signingKey('ES256', 'unknown'), k8sClaims()), /no key of .* JWKS matches/, f);
    await refused(sign(await signingKey('ES256', 'real'), k8sClaims()), /signature does not verify/, f);
  });

  it('bad/claims that map to nothing', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k), template: { ...K8S_TEMPLATE, identifiers: [...K8S_TEMPLATE.identifiers, 'dns:{claim.team}.teams.corp'] } });
    await refused(sign(k, k8sClaims('a', 'b', { sub: 'user:alice', team: 'x' })), /claim "sub" = "user:alice" does not match/, f);
    await refused(sign(k, k8sClaims('a', 'b')), /\{claim.team\} .* maps to nothing/, f);
    await refused(sign(k, k8sClaims('a', 'b', { team: 'Evil.Corp' })), /not a lowercase DNS label/, f);
    await refused(sign(k, k8sClaims('a', 'b', { team: 'x.y' })), /not a lowercase DNS label/, f);
    await refused(sign(k, k8sClaims('a', 'b', { team: { name: 'x' } })), /maps to nothing/, f);
    // A subject that matches only in part grants nothing: patterns are anchored.
    const g = identityFixture({ jwks: jwks(k), template: { subject: 'serviceaccount:(?<sa>[a-z]+)', claims: {}, identifiers: ['dns:{sa}.svc'] } });
    await refused(sign(k, k8sClaims('a', 'b')), /does not match/, g);
  });

  it('bad/a removed issuer is untrusted at once; added again with another key, only that key counts', async () => {
    const a = await signingKey('ES256', 'same-kid');
    const b = await signingKey('ES256', 'same-kid');
    const f = identityFixture({ jwks: jwks(a) });
    await f.tokens.verify(await sign(a, k8sClaims()));
    removeIssuer({ store: f.store }, ISS, f.clock);
    await refused(sign(a, k8sClaims()), /is not trusted/, f);
    addIssuer({ store: f.store }, { issuer: ISS, audience: 'pki', jwks: jwks(b), template: K8S_TEMPLATE, maxLifetimeMs: 3_600_000 }, f.clock);
    await refused(sign(a, k8sClaims()), /signature does not verify/, f);
    await expect(f.tokens.verify(await sign(b, k8sClaims()))).resolves.toBeDefined();
    expect(f.audit('identity.issuer.removed')).toHaveLength(1);
  });

  it('bad/a claim longer than 1024 characters is refused before the pattern runs', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    await refused(sign(k, k8sClaims('a', 'b', { sub: `system:serviceaccount:a:${'b'.repeat(2000)}` })), /longer than 1024/, f);
  });

  it('bad/junk is refused, never a crash', async () => {
    const k = await signingKey();
    const f = identityFixture({ jwks: jwks(k) });
    for (const t of ['', 'abc', 'a.b.c', `${b64({ alg: 'RS256' })}.${'x'.repeat(20_000)}.sig`, `${b64([1])}.${b64('s')}.x`]) await refused(t, /refused/, f);
  });
});

describe('pki issuers add: what cannot work is refused up front', () => {
  const base = async () => ({ issuer: ISS, audience: 'pki', jwks: jwks(await signingKey()), template: K8S_TEMPLATE, maxLifetimeMs: 3_600_000 });
  it.each([
    [{ template: { ...K8S_TEMPLATE, identifiers: ['dns:{nope}.svc'] } }, /\{nope\} is neither/],
    [{ template: { ...K8S_TEMPLATE, subject: '(?<ns>[a-z' } }, /not a valid regular expression/],
    [{ template: { ...K8S_TEMPLATE, identifiers: ['dns:{sa}..{ns}'] } }, /does not make a valid identifier/],
    [{ template: { ...K8S_TEMPLATE, identifiers: ['{sa}.svc'] } }, /must start with dns:, ip: or uri:/],
    [{ template: { ...K8S_TEMPLATE, identifiers: [] } }, /at least one --identifier/],
    [{ template: { ...K8S_TEMPLATE, identifiers: ['dns:*.{ns}.svc'] } }, /never a wildcard/],
    [{ template: { ...K8S_TEMPLATE, claims: { x: '(?<ns>a)' } } }, /capture "ns" is named twice/],
    [{ jwks: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }) }, /only public RSA, EC and OKP/],
    [{ jwks: 'not json' }, /not JSON/],
    [{ jwks: undefined, jwksUrl: 'http://issuer.example/jwks' }, /must be https/],
    [{ jwksUrl: 'https://issuer.example/jwks' }, /exactly one of/],
    [{ jwks: undefined, jwksUrl: 'https://issuer.example/jwks', jwksCa: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }, /--jwks-ca certificate 1 does not parse/],
    [{ jwks: undefined, jwksUrl: 'https://issuer.example/jwks', jwksCa: 'not pem' }, /PEM file of CA certificates/],
  ])('bad/%o', async (over, reason) => {
    const f = identityFixture();
    const opts = { ...(await base()), ...over };
    expect(() => addIssuer({ store: f.store }, opts, f.clock)).toThrow(reason);
    expect(f.audit('identity.issuer.added')).toHaveLength(0);
  });
});
