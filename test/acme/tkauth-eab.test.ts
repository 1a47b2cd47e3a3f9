import { FlattenedSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEabKey } from '../../src/acme/eab.ts';
import { addIssuer } from '../../src/identity/issuers.ts';
import { createWorkloadTokens } from '../../src/identity/verifier.ts';
import type { CaInstance } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';
import { ISS, jwks, K8S_TEMPLATE, k8sClaims, NOW, sign, signingKey } from '../identity/support.ts';
import { newAccountKey, problemOf } from './support/client.ts';
import { acmeFixture, type AcmeFixture } from './support/fixture.ts';

type Authz = { status: string; challenges: { type: string; url: string }[] };

/**
 * When the instance requires EAB, a token does not stand for it (least privilege: an account is
 * still made with an EAB key, e.g. a fleet key), and the account's EAB scopes still bound what a
 * token may validate: both must allow an identifier.
 */
describe('tkauth-01 on an instance that requires EAB', () => {
  let ca: CaInstance;
  let f: AcmeFixture;
  beforeAll(async () => {
    ca = await createTestCa();
    const tokens = createWorkloadTokens({ db: ca.store.db, clock: { now: () => NOW } });
    f = await acmeFixture(ca, { requireEab: true }, { workloadTokens: { forAccount: (id) => tokens.forPresenter(id), offered: tokens.offered } });
    f.clock.set(NOW);
  });
  afterAll(async () => {
    await f?.close();
    await ca?.close();
  });

  it('ok/no account without EAB; the EAB scopes and the token grant both bound the identifiers', async () => {
    const key = await signingKey();
    addIssuer({ store: ca.store }, { issuer: ISS, audience: 'pki', jwks: jwks(key), template: K8S_TEMPLATE, maxLifetimeMs: 86_400_000 }, f.clock);
    await expect(f.account()).rejects.toThrow(/externalAccountRequired/);

    const eab = createEabKey(f.ctx.store, f.ctx.eabSealKey, { label: 'payments', scopes: ['dns:*.payments.svc'], clock: f.clock });
    const acctKey = await newAccountKey();
    const binding = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(acctKey.jwk))).setProtectedHeader({ alg: 'HS256', kid: eab.kid, url: f.links.newAccount }).sign(Buffer.from(eab.hmacKey, 'base64url'));
    const acct = await f.account({ eab: binding as unknown as Record<string, unknown>, key: acctKey });
    const post = (url: string, payload: unknown) => f.client.post(url, payload, { key: acct.key, kid: acct.kid });

    // The token would grant the SPIFFE ID, the EAB key's scopes do not.
    const outside = await post(f.links.newOrder, { identifiers: [{ type: 'uri', value: 'spiffe://corp/ns/payments/sa/api' }] });
    expect(await problemOf(outside)).toMatchObject({ status: 400, type: 'rejectedIdentifier', detail: expect.stringMatching(/outside this account's issuance scopes/) });

    const r = await post(f.links.newOrder, { identifiers: [{ type: 'dns', value: 'api.payments.svc' }] });
    const order = (await r.json()) as { authorizations: string[] };
    const authz = (await (await post(order.authorizations[0]!, '')).json()) as Authz;
    const ch = authz.challenges.find((c) => c.type === 'tkauth-01')!;
    expect((await (await post(ch.url, { atc: await sign(key, k8sClaims('payments', 'api')) })).json()) as { status: string }).toMatchObject({ status: 'valid' });
  });
});
