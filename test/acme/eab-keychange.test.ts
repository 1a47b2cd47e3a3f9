import { FlattenedSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { createEabKey } from '../../src/acme/eab.ts';
import { newAccountKey, problemOf, signJws, type AccountKey } from './support/client.ts';
import { csrFor } from './support/csr.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** External account binding with issuance scopes (RFC 8555 §7.3.4) and keyChange (§7.3.5). */
const t = useAcmeFixture({ requireEab: true });

/** The externalAccountBinding member a client builds: HS256 JWS over its account JWK. */
async function eabFor(key: AccountKey, eab: { kid: string; hmacKey: string }, url = t.f.links.newAccount): Promise<Record<string, unknown>> {
  return (await new FlattenedSign(new TextEncoder().encode(JSON.stringify(key.jwk)))
    .setProtectedHeader({ alg: 'HS256', kid: eab.kid, url })
    .sign(Buffer.from(eab.hmacKey, 'base64url'))) as unknown as Record<string, unknown>;
}

const scopedKey = () => createEabKey(t.f.ctx.store, t.f.ctx.eabSealKey, { label: 'payments', scopes: ['dns:*.payments.internal', 'ip:10.1.0.0/16', 'uri:spiffe://corp/payments/*'], clock: t.ca.clock });

describe('EAB', () => {
  it('fail/missing EAB when required → externalAccountRequired 400', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key }))).toMatchObject({ status: 400, type: 'externalAccountRequired' });
  });

  it('fail/EAB with a wrong HMAC key, or for another account key → unauthorized', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const wrong = await eabFor(key, { kid: eab.kid, hmacKey: Buffer.alloc(32, 1).toString('base64url') });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { externalAccountBinding: wrong }, { key }))).toMatchObject({ status: 403, type: 'unauthorized' });
    const other = await eabFor(await newAccountKey(), eab);
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { externalAccountBinding: other }, { key }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });

  it('fail/a wrong EAB MAC is named as a bad external account binding, not as a bad request signature', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const wrong = await eabFor(key, { kid: eab.kid, hmacKey: Buffer.alloc(32, 7).toString('base64url') });
    const p = await problemOf(await t.f.client.post(t.f.links.newAccount, { externalAccountBinding: wrong }, { key }));
    expect(p).toMatchObject({ status: 403, type: 'unauthorized' });
    expect(p.detail).toMatch(/externalAccountBinding/);
    expect(p.detail).toContain(eab.kid);
    expect(p.detail).not.toMatch(/JWS signature/);
    expect(t.f.ctx.store.eabKeys.get(eab.kid)!.accountId).toBeNull();
  });

  it('ok/the account object carries the externalAccountBinding it was created with (§7.1.2), on creation and on every read', async () => {
    const key = await newAccountKey();
    const binding = await eabFor(key, scopedKey());
    const created = await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true, externalAccountBinding: binding }, { key });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { externalAccountBinding?: unknown }).externalAccountBinding).toEqual(binding);
    const kid = created.headers.get('Location')!;
    const read = (await (await t.f.client.post(kid, '', { key, kid })).json()) as { externalAccountBinding?: unknown };
    expect(read.externalAccountBinding).toEqual(binding);
    const found = (await (await t.f.client.post(t.f.links.newAccount, { onlyReturnExisting: true }, { key })).json()) as { externalAccountBinding?: unknown };
    expect(found.externalAccountBinding).toEqual(binding);
  });

  it('ok/an EAB key binds one account only; the HMAC key is not stored in clear', async () => {
    const eab = scopedKey();
    const a = await t.f.account({ eab: await eabFor((await newAccountKey().then((k) => (key1 = k))), eab), key: key1 });
    expect(a.kid).toBeTruthy();
    const key2 = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { externalAccountBinding: await eabFor(key2, eab) }, { key: key2 }))).toMatchObject({ status: 403, type: 'unauthorized' });
    const stored = t.f.ctx.store.eabKeys.get(eab.kid)!;
    expect(Buffer.from(stored.sealedKey).includes(Buffer.from(eab.hmacKey, 'base64url'))).toBe(false);
  });

  it('ok/in-scope identifiers (dns wildcard zone, ip prefix, spiffe uri) are accepted; fail/outside → rejectedIdentifier', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(key, eab), key });
    const order = (ids: { type: string; value: string }[]) => t.f.client.post(t.f.links.newOrder, { identifiers: ids }, { key: a.key, kid: a.kid });
    expect((await order([{ type: 'dns', value: 'api.payments.internal' }, { type: 'dns', value: '*.payments.internal' }, { type: 'ip', value: '10.1.2.3' }])).status).toBe(201);
    const uri = await order([{ type: 'uri', value: 'spiffe://corp/payments/api' }]);
    expect(uri.status).toBe(201);
    expect(((await uri.json()) as { status: string }).status).toBe('ready');
    for (const ids of [[{ type: 'dns', value: 'payments.internal' }], [{ type: 'dns', value: 'api.billing.internal' }], [{ type: 'ip', value: '10.2.0.1' }], [{ type: 'uri', value: 'spiffe://corp/billing/x' }]]) {
      expect(await problemOf(await order(ids)), JSON.stringify(ids)).toMatchObject({ status: 400, type: 'rejectedIdentifier' });
    }
  });

  it('fail/a revoked EAB key neither binds nor lets its accounts order', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(key, eab), key });
    t.f.ctx.store.eabKeys.revoke(eab.kid);
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'x.payments.internal' }] }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });
});

describe('a revoked EAB key stops everything it bound', () => {
  it('fail/after `eab revoke`: finalize of a ready order, a challenge response, newOrder and download → unauthorized; nothing is issued or moved', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(key, eab), key });
    const done = await t.f.readyOrder(a, ['done.payments.internal']);
    const issued = (await (await t.f.client.post(done.finalize, { csr: await csrFor(['done.payments.internal']) }, { key: a.key, kid: a.kid })).json()) as { certificate: string };
    const ready = await t.f.readyOrder(a, ['ready.payments.internal']);
    const pending = (await (await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'pending.payments.internal' }] }, { key: a.key, kid: a.kid })).json()) as { authorizations: string[] };
    const authz = (await (await t.f.client.post(pending.authorizations[0]!, '', { key: a.key, kid: a.kid })).json()) as { challenges: { url: string; status: string }[] };

    t.f.ctx.store.eabKeys.revoke(eab.kid);
    const before = t.ca.store.certificates.countByStatus().valid ?? 0;
    const refused = async (r: Response) => {
      const p = await problemOf(r);
      expect(p).toMatchObject({ status: 403, type: 'unauthorized' });
      expect(p.detail).toContain(eab.kid);
      expect(p.detail).toMatch(/revoked/);
    };
    await refused(await t.f.client.post(ready.finalize, { csr: await csrFor(['ready.payments.internal']) }, { key: a.key, kid: a.kid }));
    expect(((await (await t.f.client.post(ready.url, '', { key: a.key, kid: a.kid })).json()) as { status: string }).status).toBe('ready');
    await refused(await t.f.client.post(authz.challenges[0]!.url, {}, { key: a.key, kid: a.kid }));
    expect(t.f.ctx.store.orders.challengesOf(pending.authorizations[0]!.split('/').at(-1)!).every((c) => c.status === 'pending')).toBe(true);
    await refused(await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'new.payments.internal' }] }, { key: a.key, kid: a.kid }));
    await refused(await t.f.client.post(issued.certificate, '', { key: a.key, kid: a.kid }));
    expect(t.ca.store.certificates.countByStatus().valid ?? 0).toBe(before);
  });
});

describe('a revoked EAB key stops validations under way', () => {
  it('fail/a challenge already processing when the key is revoked is validated no further: invalid with unauthorized', async () => {
    const eab = scopedKey();
    const key = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(key, eab), key });
    const r = (await (await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'mid.payments.internal' }] }, { key: a.key, kid: a.kid })).json()) as { authorizations: string[] };
    const authzId = r.authorizations[0]!.split('/').at(-1)!;
    const ch = t.f.ctx.store.orders.challengesOf(authzId).find((c) => c.type === 'http-01')!;
    const { calculateJwkThumbprint } = await import('jose');
    t.f.web.set(ch.token, `${ch.token}.${await calculateJwkThumbprint(key.jwk, 'sha256')}`);
    expect(t.f.ctx.store.orders.transitionChallenge(ch.id, ['pending'], 'processing')).toBe(true);
    t.f.ctx.store.eabKeys.revoke(eab.kid);
    await t.f.service.validations.start(ch.id);
    expect(t.f.ctx.store.orders.challenge(ch.id)).toMatchObject({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:unauthorized' } });
    expect(t.f.ctx.store.orders.authz(authzId)!.status).toBe('invalid');
  });
});

let key1: AccountKey;

describe('keyChange', () => {
  async function keyChangeBody(acct: { key: AccountKey; kid: string }, newKey: AccountKey, o: { oldKey?: unknown; account?: string } = {}) {
    return signJws(t.f.links.keyChange, { account: o.account ?? acct.kid, oldKey: o.oldKey ?? acct.key.jwk }, { key: newKey, nonce: 'unused', header: { nonce: undefined } });
  }

  it('ok/rolls the account key: the new key signs, the old key no longer does', async () => {
    const eab = scopedKey();
    const oldKey = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(oldKey, eab), key: oldKey });
    const newKey = await newAccountKey('ES384');
    const r = await t.f.client.post(t.f.links.keyChange, await keyChangeBody(a, newKey), { key: a.key, kid: a.kid });
    expect(r.status).toBe(200);
    const ok = await t.f.client.post(a.kid, '', { key: newKey, kid: a.kid });
    expect(ok.status).toBe(200);
    // The old ES256 key's "alg" no longer fits the account's P-384 key (§6.2).
    expect(await problemOf(await t.f.client.post(a.kid, '', { key: oldKey, kid: a.kid }))).toMatchObject({ status: 400, type: 'badSignatureAlgorithm' });
    // newAccount with the new key finds the same account.
    const found = await t.f.client.post(t.f.links.newAccount, { onlyReturnExisting: true }, { key: newKey });
    expect(found.headers.get('Location')).toBe(a.kid);
  });

  it('fail/wrong oldKey, another account, or a key already in use', async () => {
    const k1 = await newAccountKey();
    const a = await t.f.account({ eab: await eabFor(k1, scopedKey()), key: k1 });
    const k2 = await newAccountKey();
    const b = await t.f.account({ eab: await eabFor(k2, scopedKey()), key: k2 });
    const fresh = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.keyChange, await keyChangeBody(a, fresh, { oldKey: fresh.jwk }), { key: a.key, kid: a.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
    expect(await problemOf(await t.f.client.post(t.f.links.keyChange, await keyChangeBody(a, fresh, { account: b.kid }), { key: a.key, kid: a.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
    const taken = await t.f.client.post(t.f.links.keyChange, await keyChangeBody(a, b.key), { key: a.key, kid: a.kid });
    expect(await problemOf(taken)).toMatchObject({ status: 409 });
    expect(taken.headers.get('Location')).toBe(b.kid);
  });
});
