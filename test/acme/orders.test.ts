import { describe, expect, it } from 'vitest';
import { x509 } from '../../src/x509/x509.ts';
import { problemOf } from './support/client.ts';
import { csrFor } from './support/csr.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** Orders, authorizations and finalize (RFC 8555 §7.4, §7.5): state machine, ownership, issuing once. */
const t = useAcmeFixture({ requireEab: false });

type Order = { status: string; certificate?: string; authorizations: string[]; finalize: string; profile?: string };
const newOrder = async (acct: Awaited<ReturnType<typeof t.f.account>>, payload: Record<string, unknown>) => t.f.client.post(t.f.links.newOrder, payload, { key: acct.key, kid: acct.kid });

describe('ok/', () => {
  it('ok/newAccount is 201 + Location; the same key again is 200 with the same Location; onlyReturnExisting finds it', async () => {
    const a = await t.f.account();
    const again = await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key: a.key });
    expect(again.status).toBe(200);
    expect(again.headers.get('Location')).toBe(a.kid);
    const existing = await t.f.client.post(t.f.links.newAccount, { onlyReturnExisting: true }, { key: a.key });
    expect(existing.headers.get('Location')).toBe(a.kid);
  });

  it('ok/concurrent newAccount with one key creates one account (no 5xx)', async () => {
    const { newAccountKey } = await import('./support/client.ts');
    const key = await newAccountKey();
    const rs = await Promise.all(Array.from({ length: 5 }, () => t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key })));
    expect(rs.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
    expect(new Set(rs.map((r) => r.headers.get('Location'))).size).toBe(1);
  });

  it('ok/newOrder is 201 + Location with a pending order and Retry-After', async () => {
    const a = await t.f.account();
    const r = await newOrder(a, { identifiers: [{ type: 'dns', value: 'new.example.test' }] });
    expect(r.status).toBe(201);
    expect(r.headers.get('Location')).toMatch(/\/acme\/order\//);
    expect(r.headers.get('Retry-After')).toBe('1');
    expect(((await r.json()) as Order).status).toBe('pending');
  });

  it('ok/http-01 → ready → finalize → valid → download a chain (leaf + intermediate) with exactly the names', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['one.example.test', 'two.example.test']);
    expect(((await (await t.f.client.post(o.url, '', { key: a.key, kid: a.kid })).json()) as Order).status).toBe('ready');
    const fin = await t.f.client.post(o.finalize, { csr: await csrFor(['two.example.test', 'one.example.test']) }, { key: a.key, kid: a.kid });
    expect(fin.status).toBe(200);
    const order = (await fin.json()) as Order;
    expect(order.status).toBe('valid');
    const cert = await t.f.client.post(order.certificate!, '', { key: a.key, kid: a.kid });
    expect(cert.headers.get('Content-Type')).toBe('application/pem-certificate-chain');
    const pem = await cert.text();
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const leaf = new x509.X509Certificate(pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value).sort()).toEqual(['one.example.test', 'two.example.test']);
  });

  it('ok/profile "client" gives a clientAuth-only certificate; the order echoes the profile', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['client.example.test'], 'client');
    const order = (await (await t.f.client.post(o.finalize, { csr: await csrFor(['client.example.test']) }, { key: a.key, kid: a.kid })).json()) as Order;
    expect(order.profile).toBe('client');
    const pem = await (await t.f.client.post(order.certificate!, '', { key: a.key, kid: a.kid })).text();
    const leaf = new x509.X509Certificate(pem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
  });

  it('ok/concurrent finalize of one order issues exactly one certificate', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['race.example.test']);
    const csr = await csrFor(['race.example.test']);
    const before = t.ca.store.certificates.countByStatus().valid ?? 0;
    const results = await Promise.all(Array.from({ length: 6 }, () => t.f.client.post(o.finalize, { csr }, { key: a.key, kid: a.kid })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(await problemOf(r)).toMatchObject({ status: 403, type: 'orderNotReady' });
    expect((t.ca.store.certificates.countByStatus().valid ?? 0) - before).toBe(1);
    // And again, after it is valid.
    expect(await problemOf(await t.f.client.post(o.finalize, { csr }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 403, type: 'orderNotReady' });
    expect((t.ca.store.certificates.countByStatus().valid ?? 0) - before).toBe(1);
  });

  it('ok/account update (contact) and deactivation; a deactivated account is refused', async () => {
    const a = await t.f.account();
    const upd = await t.f.client.post(a.kid, { contact: ['mailto:ops@example.test'] }, { key: a.key, kid: a.kid });
    expect(((await upd.json()) as { contact: string[] }).contact).toEqual(['mailto:ops@example.test']);
    const d = await t.f.client.post(a.kid, { status: 'deactivated' }, { key: a.key, kid: a.kid });
    expect(((await d.json()) as { status: string }).status).toBe('deactivated');
    expect(await problemOf(await newOrder(a, { identifiers: [{ type: "dns", value: "x.test" }] }))).toMatchObject({ status: 401, type: "unauthorized" });
  });

  it('ok/authorization deactivation invalidates its order', async () => {
    const a = await t.f.account();
    const order = (await (await newOrder(a, { identifiers: [{ type: 'dns', value: 'deact.example.test' }] })).json()) as Order;
    const r = await t.f.client.post(order.authorizations[0]!, { status: 'deactivated' }, { key: a.key, kid: a.kid });
    expect(((await r.json()) as { status: string }).status).toBe('deactivated');
  });

  it('ok/orders and authorizations expire', async () => {
    const a = await t.f.account();
    const r = await newOrder(a, { identifiers: [{ type: 'dns', value: 'expire.example.test' }] });
    const url = r.headers.get('Location')!;
    const order = (await r.json()) as Order;
    t.f.clock.advance(2 * 3_600_000);
    try {
      const now = (await (await t.f.client.post(url, '', { key: a.key, kid: a.kid })).json()) as Order;
      expect(now.status).toBe('invalid');
      const az = (await (await t.f.client.post(order.authorizations[0]!, '', { key: a.key, kid: a.kid })).json()) as { status: string };
      expect(az.status).toBe('expired');
    } finally {
      t.f.clock.advance(-2 * 3_600_000);
    }
  });
});

describe('fail/', () => {
  it("fail/another account's order, authorization, challenge and certificate → unauthorized 403", async () => {
    const owner = await t.f.account();
    const other = await t.f.account();
    const o = await t.f.readyOrder(owner, ['mine.example.test']);
    const order = (await (await t.f.client.post(o.finalize, { csr: await csrFor(['mine.example.test']) }, { key: owner.key, kid: owner.kid })).json()) as Order;
    const az = (await (await t.f.client.post(o.authorizations[0]!, '', { key: owner.key, kid: owner.kid })).json()) as { challenges: { url: string }[] };
    for (const url of [o.url, o.authorizations[0]!, az.challenges[0]!.url, order.certificate!, owner.kid]) {
      expect(await problemOf(await t.f.client.post(url, '', { key: other.key, kid: other.kid })), url).toMatchObject({ status: 403, type: 'unauthorized' });
    }
    expect(await problemOf(await t.f.client.post(o.finalize, { csr: await csrFor(['mine.example.test']) }, { key: other.key, kid: other.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });

  it('fail/finalize before ready → orderNotReady 403', async () => {
    const a = await t.f.account();
    const order = (await (await newOrder(a, { identifiers: [{ type: 'dns', value: 'early.example.test' }] })).json()) as Order;
    expect(await problemOf(await t.f.client.post(order.finalize, { csr: await csrFor(['early.example.test']) }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 403, type: 'orderNotReady' });
  });

  it('fail/CSR with an extra SAN → badCSR 400, and the order stays ready for a good CSR', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['exact.example.test']);
    expect(await problemOf(await t.f.client.post(o.finalize, { csr: await csrFor(['exact.example.test', 'extra.example.test']) }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 400, type: 'badCSR' });
    expect(await problemOf(await t.f.client.post(o.finalize, { csr: 'AAAA' }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 400, type: 'badCSR' });
    const ok = await t.f.client.post(o.finalize, { csr: await csrFor(['exact.example.test']) }, { key: a.key, kid: a.kid });
    expect(((await ok.json()) as Order).status).toBe('valid');
  });

  it('fail/unknown profile → invalidProfile 400', async () => {
    const a = await t.f.account();
    expect(await problemOf(await newOrder(a, { identifiers: [{ type: 'dns', value: 'p.example.test' }], profile: 'gold' }))).toMatchObject({ status: 400, type: 'invalidProfile' });
  });

  it('fail/bad identifiers: unsupported type, invalid name, empty list', async () => {
    const a = await t.f.account();
    expect(await problemOf(await newOrder(a, { identifiers: [{ type: 'email', value: 'a@b.c' }] }))).toMatchObject({ status: 400, type: 'unsupportedIdentifier' });
    expect(await problemOf(await newOrder(a, { identifiers: [{ type: 'dns', value: 'bad_name..test' }] }))).toMatchObject({ status: 400, type: 'rejectedIdentifier' });
    expect(await problemOf(await newOrder(a, { identifiers: [] }))).toMatchObject({ status: 400, type: 'malformed' });
  });

  it('fail/http-01 with a wrong answer → challenge, authorization and order invalid', async () => {
    const a = await t.f.account();
    const order = (await (await newOrder(a, { identifiers: [{ type: 'dns', value: 'wrong.example.test' }] })).json()) as Order;
    const az = (await (await t.f.client.post(order.authorizations[0]!, '', { key: a.key, kid: a.kid })).json()) as { challenges: { type: string; url: string; token: string }[] };
    const ch = az.challenges.find((c) => c.type === 'http-01')!;
    t.f.web.set(ch.token, 'not-the-key-authorization');
    await t.f.client.post(ch.url, {}, { key: a.key, kid: a.kid });
    await t.f.service.validations.drain();
    const after = (await (await t.f.client.post(order.authorizations[0]!, '', { key: a.key, kid: a.kid })).json()) as { status: string; challenges: { type: string; status: string; error?: { type: string } }[] };
    expect(after.status).toBe('invalid');
    expect(after.challenges.find((c) => c.type === 'http-01')).toMatchObject({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:incorrectResponse' } });
  });
});
