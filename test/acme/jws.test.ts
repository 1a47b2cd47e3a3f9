import { describe, expect, it } from 'vitest';
import { newAccountKey, problemOf, signJws } from './support/client.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** RFC 8555 §6.2–§6.5 request checks, each failure with its problem type and HTTP status. */
const t = useAcmeFixture({ requireEab: false });

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('directory and nonces', () => {
  it('directory lists every resource, ARI, profiles and EAB requirement', async () => {
    const d = await t.f.client.directory();
    for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange', 'renewalInfo']) expect(d[k]).toMatch(/^https:\/\/acme\.test:9443\/acme\//);
    expect(d.meta).toMatchObject({ externalAccountRequired: false, profiles: { default: expect.any(String), client: expect.any(String) } });
  });

  it('newNonce answers HEAD 200 and GET 204, with Replay-Nonce, Link index and no-store', async () => {
    const head = await t.f.client.fetch(t.f.links.newNonce, { method: 'HEAD' });
    const get = await t.f.client.fetch(t.f.links.newNonce);
    expect([head.status, get.status]).toEqual([200, 204]);
    for (const r of [head, get]) {
      expect(r.headers.get('Replay-Nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(r.headers.get('Link')).toBe(`<${t.f.links.directory}>;rel="index"`);
      expect(r.headers.get('Cache-Control')).toBe('no-store');
    }
  });

  it('errors carry Replay-Nonce and Link too', async () => {
    const r = await t.f.client.fetch(t.f.links.newAccount, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{' });
    expect(r.status).toBe(400);
    expect(r.headers.get('Replay-Nonce')).toBeTruthy();
    expect(r.headers.get('Link')).toContain('rel="index"');
  });
});

describe('fail/ JWS', () => {
  it('fail/alg none → badSignatureAlgorithm 400', async () => {
    const key = await newAccountKey();
    const body = JSON.stringify({ protected: b64({ alg: 'none', jwk: key.jwk, nonce: await t.f.client.nonce(), url: t.f.links.newAccount }), payload: b64({}), signature: '' });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, null, { key, body }))).toMatchObject({ status: 400, type: 'badSignatureAlgorithm' });
  });

  it('fail/HS256 → badSignatureAlgorithm 400', async () => {
    const key = await newAccountKey();
    const body = JSON.stringify({ protected: b64({ alg: 'HS256', jwk: key.jwk, nonce: await t.f.client.nonce(), url: t.f.links.newAccount }), payload: b64({}), signature: 'AAAA' });
    const p = await problemOf(await t.f.client.post(t.f.links.newAccount, null, { key, body }));
    expect(p).toMatchObject({ status: 400, type: 'badSignatureAlgorithm' });
  });

  it('fail/reused nonce → badNonce 400 (and the first use succeeded)', async () => {
    const key = await newAccountKey();
    const nonce = await t.f.client.nonce();
    const first = await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key, nonce });
    expect(first.status).toBe(201);
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key, nonce }))).toMatchObject({ status: 400, type: 'badNonce' });
  });

  it('fail/unknown or missing nonce → badNonce 400', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key, nonce: 'bm90LWEtbm9uY2U' }))).toMatchObject({ status: 400, type: 'badNonce' });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key, header: { nonce: undefined } }))).toMatchObject({ status: 400, type: 'badNonce' });
  });

  it('fail/wrong url → unauthorized 403 (§6.4)', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key, header: { url: t.f.links.newOrder } }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });

  it('fail/both kid and jwk → malformed 400', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key, header: { kid: t.f.links.account('x') } }))).toMatchObject({ status: 400, type: 'malformed' });
  });

  it('fail/unknown kid → accountDoesNotExist 400', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, { identifiers: [] }, { key, kid: t.f.links.account('nobody') }))).toMatchObject({ status: 400, type: 'accountDoesNotExist' });
  });

  it('fail/signature by another key → unauthorized 403', async () => {
    const acct = await t.f.account();
    const other = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'a.test' }] }, { key: { ...other, jwk: acct.key.jwk }, kid: acct.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });

  it('fail/jwk on a kid resource and kid on newAccount → malformed 400', async () => {
    const acct = await t.f.account();
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'a.test' }] }, { key: acct.key }))).toMatchObject({ status: 400, type: 'malformed' });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key: acct.key, kid: acct.kid }))).toMatchObject({ status: 400, type: 'malformed' });
  });

  it('fail/general JWS serialization and unprotected header → malformed 400', async () => {
    const key = await newAccountKey();
    const jws = await signJws(t.f.links.newAccount, {}, { key, nonce: await t.f.client.nonce() });
    const general = JSON.stringify({ payload: jws.payload, signatures: [{ protected: jws.protected, signature: jws.signature }] });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, null, { key, body: general }))).toMatchObject({ status: 400, type: 'malformed' });
    const unprotected = JSON.stringify({ ...jws, header: { kid: 'x' } });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, null, { key, body: unprotected }))).toMatchObject({ status: 400, type: 'malformed' });
  });

  it('fail/wrong Content-Type → 415', async () => {
    const key = await newAccountKey();
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, {}, { key, contentType: 'application/json' }))).toMatchObject({ status: 415, type: 'malformed' });
  });

  it('fail/oversized body → 413', async () => {
    const key = await newAccountKey();
    const r = await t.f.client.post(t.f.links.newAccount, null, { key, body: 'x'.repeat(200 * 1024) });
    expect(await problemOf(r)).toMatchObject({ status: 413 });
  });

  it('fail/the limit is 64 KiB: a body of that size is read (and is not JSON), one byte more is 413 malformed with Connection: close', async () => {
    const send = (n: number) => t.f.client.fetch(t.f.links.newAccount, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: 'x'.repeat(n) });
    expect(await problemOf(await send(64 * 1024))).toMatchObject({ status: 400, type: 'malformed', detail: 'the request body is not JSON' });
    const over = await send(64 * 1024 + 1);
    expect(over.headers.get('Connection')).toBe('close');
    expect(await problemOf(over)).toMatchObject({ status: 413, type: 'malformed', detail: 'request bodies are limited to 65536 bytes' });
  });

  it('fail/plain GET on a resource → 405 (POST-as-GET only)', async () => {
    const r = await t.f.client.fetch(t.f.links.order('abc'));
    expect(await problemOf(r)).toMatchObject({ status: 405, type: 'malformed' });
  });

  it('fail/junk bodies never produce a 5xx', async () => {
    const key = await newAccountKey();
    const junk = ['null', '[]', '"x"', '{}', '{"protected":1,"payload":"","signature":""}', '{"protected":"!!","payload":"","signature":""}', `{"protected":"${b64('x')}","payload":"","signature":""}`,
      `{"protected":"${b64({ alg: 'ES256', url: t.f.links.newAccount, nonce: 'x', jwk: { kty: 'EC' } })}","payload":"","signature":""}`,
      `{"protected":"${b64({ alg: 'RS256', url: t.f.links.newAccount, nonce: 'x', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } })}","payload":"","signature":""}`,
      `{"protected":"${b64({ alg: 'ES256', url: t.f.links.newAccount, nonce: 'x', jwk: 'str' })}","payload":"","signature":""}`];
    for (const url of [t.f.links.newAccount, t.f.links.newOrder, t.f.links.revokeCert, t.f.links.keyChange, t.f.links.finalize('x')]) {
      for (const body of junk) {
        const r = await t.f.client.post(url, null, { key, body });
        expect(r.status, `${url} ${body}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${url} ${body}`).toBeLessThan(500);
      }
    }
  });
});

describe('a nonce is spent whatever the request it came with does', () => {
  const orderCount = () => (t.ca.store.db.prepare('SELECT count(*) AS n FROM acme_orders').get() as { n: number }).n;
  const newOrderBody = { identifiers: [{ type: 'dns', value: 'spent.example.test' }] };

  it('fail/a request its handler refuses still spends its nonce, so it cannot be replayed once it would succeed', async () => {
    const acct = await t.f.account();
    const nonce = await t.f.client.nonce();
    const refused = await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'not a name' }] }, { key: acct.key, kid: acct.kid, nonce });
    expect((await problemOf(refused)).type).not.toBe('badNonce');
    const before = orderCount();
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, newOrderBody, { key: acct.key, kid: acct.kid, nonce }))).toMatchObject({ status: 400, type: 'badNonce' });
    expect(orderCount()).toBe(before);
  });

  it('fail/a spent nonce leaves no effect: the order is not stored', async () => {
    const acct = await t.f.account();
    const nonce = await t.f.client.nonce();
    expect((await t.f.client.post(acct.kid, '', { key: acct.key, kid: acct.kid, nonce })).status).toBe(200);
    const before = orderCount();
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, newOrderBody, { key: acct.key, kid: acct.kid, nonce }))).toMatchObject({ status: 400, type: 'badNonce' });
    expect(orderCount()).toBe(before);
  });

  it('fail/a handler that fails after writing leaves none of its writes, and its nonce stays spent', async () => {
    const acct = await t.f.account();
    const orders = t.f.ctx.store.orders;
    const insert = orders.insert;
    orders.insert = function (...args: Parameters<typeof insert>) {
      insert.apply(this, args);
      throw new Error('the disk went away after the insert');
    };
    const nonce = await t.f.client.nonce();
    const before = orderCount();
    try {
      expect((await t.f.client.post(t.f.links.newOrder, newOrderBody, { key: acct.key, kid: acct.kid, nonce })).status).toBe(500);
    } finally {
      orders.insert = insert;
    }
    expect(orderCount()).toBe(before);
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, newOrderBody, { key: acct.key, kid: acct.kid, nonce }))).toMatchObject({ status: 400, type: 'badNonce' });
    expect((await t.f.client.post(t.f.links.newOrder, newOrderBody, { key: acct.key, kid: acct.kid })).status).toBe(201);
    expect(orderCount()).toBe(before + 1);
  });
});
