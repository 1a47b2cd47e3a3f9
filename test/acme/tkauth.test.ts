import { fromPem } from '../../src/x509/x509.ts';
import { x509 } from '../../src/x509/x509.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addIssuer } from '../../src/identity/issuers.ts';
import { createWorkloadTokens } from '../../src/identity/verifier.ts';
import { IdentityIssuerRepository } from '../../src/store/identity-issuers.ts';
import type { CaInstance } from '../../src/index.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { acmeFixture, type AcmeFixture } from './support/fixture.ts';
import { newAccountKey, problemOf } from './support/client.ts';
import { ISS, jwks, K8S_TEMPLATE, k8sClaims, nowS, sign, signingKey, type SigningKey } from '../identity/support.ts';

type Authz = { status: string; identifier: { type: string; value: string }; challenges: { type: string; url: string; token: string; status: string; error?: { type: string; detail: string }; 'tkauth-type'?: string }[] };
type Order = { status: string; authorizations: string[]; finalize: string; certificate?: string };

/**
 * The Authority Token challenge (RFC 9447 tkauth-01) with workload identity tokens: offered while an
 * issuer is trusted, answered with {"atc": token}, valid only for identifiers the issuer's template
 * grants that token; no http/dns/tls-alpn reachability.
 */
describe('ACME tkauth-01 with workload identity tokens', () => {
  let ca: CaInstance;
  let f: AcmeFixture;
  let key: SigningKey;
  beforeAll(async () => {
    ca = await createTestCa();
    key = await signingKey('ES256', 'k8s');
    // The verifier's clock is the ACME fixture's clock: both read "now" the same way.
    const placeholder = { forAccount: () => async () => ({}) as never, offered: () => false };
    f = await acmeFixture(ca, { requireEab: false }, { workloadTokens: placeholder });
    const tokens = createWorkloadTokens({ db: ca.store.db, clock: f.clock });
    Object.assign(placeholder, { forAccount: (id: string) => tokens.forPresenter(`acme:${id}`), offered: tokens.offered });
    f.clock.set(new Date('2026-12-01T12:00:00Z'));
  });
  afterAll(async () => {
    await f?.close();
    await ca?.close();
  });

  const trust = () => addIssuer({ store: ca.store }, { issuer: ISS, audience: 'pki', jwks: jwks(key), template: K8S_TEMPLATE, maxLifetimeMs: 86_400_000 }, f.clock);
  const post = (acct: { key: Awaited<ReturnType<typeof newAccountKey>>; kid: string }, url: string, payload: unknown) => f.client.post(url, payload, { key: acct.key, kid: acct.kid });
  async function order(acct: Awaited<ReturnType<AcmeFixture['account']>>, ids: { type: string; value: string }[]) {
    const r = await post(acct, f.links.newOrder, { identifiers: ids });
    return { r, order: r.status === 201 ? ((await r.json()) as Order) : null, url: r.headers.get('Location') };
  }
  const authzOf = async (acct: Awaited<ReturnType<AcmeFixture['account']>>, url: string) => (await (await post(acct, url, '')).json()) as Authz;
  const tkauth = (a: Authz) => a.challenges.find((c) => c.type === 'tkauth-01');
  const ids = (ns: string, sa: string) => [
    { type: 'uri', value: `spiffe://corp/ns/${ns}/sa/${sa}` },
    { type: 'dns', value: `${sa}.${ns}.svc` },
  ];

  it('bad/not offered while no issuer is trusted: a URI outside EAB scopes is unsupported', async () => {
    expect(new IdentityIssuerRepository(ca.store.db).count()).toBe(0);
    const acct = await f.account();
    const { r } = await order(acct, ids('payments', 'api'));
    expect(await problemOf(r)).toMatchObject({ status: 400, type: 'unsupportedIdentifier' });
    const dns = await order(acct, [{ type: 'dns', value: 'api.payments.svc' }]);
    expect((await authzOf(acct, dns.order!.authorizations[0]!)).challenges.map((c) => c.type)).toEqual(['http-01', 'dns-01', 'tls-alpn-01']);
  });

  it('ok/a token validates the SPIFFE ID and the DNS name its template yields; the certificate has exactly those', async () => {
    trust();
    const acct = await f.account();
    const { order: o, url } = await order(acct, ids('payments', 'api'));
    const token = await sign(key, k8sClaims('payments', 'api'));
    for (const az of o!.authorizations) {
      const a = await authzOf(acct, az);
      expect(a.challenges.map((c) => c.type)).toEqual(a.identifier.type === 'uri' ? ['tkauth-01'] : ['http-01', 'dns-01', 'tls-alpn-01', 'tkauth-01']);
      expect(tkauth(a)).toMatchObject({ 'tkauth-type': 'atc', status: 'pending' });
      // The same token answers each authorization of this account's order.
      const ch = (await (await post(acct, tkauth(a)!.url, { atc: token })).json()) as { status: string };
      expect(ch.status).toBe('valid');
    }
    await f.service.validations.drain();
    const ready = (await (await post(acct, url!, '')).json()) as Order;
    expect(ready.status).toBe('ready');
    const { pem } = await makeCsr({ sans: [{ type: 'url', value: 'spiffe://corp/ns/payments/sa/api' }, { type: 'dns', value: 'api.payments.svc' }] });
    const csr = Buffer.from(fromPem(pem, 'CERTIFICATE REQUEST')[0]!).toString('base64url');
    const fin = (await (await post(acct, ready.finalize, { csr })).json()) as Order;
    expect(fin.status).toBe('valid');
    const chain = await (await post(acct, fin.certificate!, '')).text();
    const leaf = new x509.X509Certificate(chain.split(/(?<=-----END CERTIFICATE-----)\n/)[0]!);
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.toJSON().map((n) => `${n.type}:${n.value}`).sort()).toEqual(['dns:api.payments.svc', 'url:spiffe://corp/ns/payments/sa/api']);
    expect(ca.store.audit.list().filter((e) => e.action === 'acme.tkauth.valid').map((e) => e.target).sort()).toEqual(['dns:api.payments.svc', 'uri:spiffe://corp/ns/payments/sa/api']);
  });

  it('bad/an identifier outside the template: the challenge is invalid with unauthorized naming why, audited', async () => {
    const acct = await f.account();
    const { order: o } = await order(acct, [{ type: 'uri', value: 'spiffe://corp/ns/payments/sa/db' }]);
    const a = await authzOf(acct, o!.authorizations[0]!);
    await post(acct, tkauth(a)!.url, { atc: await sign(key, k8sClaims('payments', 'api')) });
    await f.service.validations.drain();
    const after = await authzOf(acct, o!.authorizations[0]!);
    expect(after.status).toBe('invalid');
    expect(tkauth(after)!.error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized', detail: expect.stringMatching(/grants uri:spiffe:\/\/corp\/ns\/payments\/sa\/api, dns:api.payments.svc, not uri:spiffe:\/\/corp\/ns\/payments\/sa\/db/) });
    expect(ca.store.audit.list().filter((e) => e.action === 'acme.tkauth.invalid').at(-1)).toMatchObject({ target: 'uri:spiffe://corp/ns/payments/sa/db' });
  });

  it.each([
    ['expired', async () => sign(key, k8sClaims('payments', 'api', { iat: nowS() - 3000, exp: nowS() - 120 })), /expired/],
    ['another audience', async () => sign(key, k8sClaims('payments', 'api', { aud: 'vault' })), /another audience/],
    ['an unknown key', async () => sign(await signingKey('ES256', 'k8s'), k8sClaims('payments', 'api')), /signature does not verify/],
    ['junk', async () => 'not-a-jwt', /not a compact signed JWT/],
  ])('bad/a token that is %s makes the challenge invalid (unauthorized)', async (_, token, reason) => {
    const acct = await f.account();
    const { order: o } = await order(acct, ids('payments', 'api').slice(0, 1));
    const a = await authzOf(acct, o!.authorizations[0]!);
    await post(acct, tkauth(a)!.url, { atc: await token() });
    await f.service.validations.drain();
    expect(tkauth(await authzOf(acct, o!.authorizations[0]!))!.error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized', detail: expect.stringMatching(reason) });
  });

  it('bad/a token another account presented first is refused (replay)', async () => {
    const token = await sign(key, k8sClaims('payments', 'api'));
    for (const [i, acct] of [await f.account(), await f.account()].entries()) {
      const { order: o } = await order(acct, ids('payments', 'api').slice(1));
      const a = await authzOf(acct, o!.authorizations[0]!);
      await post(acct, tkauth(a)!.url, { atc: token });
      await f.service.validations.drain();
      const after = await authzOf(acct, o!.authorizations[0]!);
      expect(after.status).toBe(i === 0 ? 'valid' : 'invalid');
      if (i === 1) expect(tkauth(after)!.error!.detail).toMatch(/already used/);
    }
  });

  it('bad/malformed responses are 400 and leave the challenge pending', async () => {
    const acct = await f.account();
    const { order: o } = await order(acct, ids('payments', 'api').slice(1));
    const a = await authzOf(acct, o!.authorizations[0]!);
    for (const payload of [{}, { atc: 1 }, { atc: '' }, { atc: 'x', extra: true }]) {
      expect(await problemOf(await post(acct, tkauth(a)!.url, payload))).toMatchObject({ status: 400, type: 'malformed', detail: expect.stringMatching(/\{"atc"/) });
    }
    const http = a.challenges.find((c) => c.type === 'http-01')!;
    expect(await problemOf(await post(acct, http.url, { atc: 'x' }))).toMatchObject({ status: 400, type: 'malformed' });
    expect(tkauth(await authzOf(acct, o!.authorizations[0]!))!.status).toBe('pending');
  });
});
