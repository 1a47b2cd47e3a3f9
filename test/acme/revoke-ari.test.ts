import { exportJWK, importPKCS8 } from 'jose';
import { describe, expect, it } from 'vitest';
import { x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { problemOf, type AccountKey } from './support/client.ts';
import { useAcmeFixture } from './support/fixture.ts';
import { fromPem } from '../../src/x509/x509.ts';

/** revokeCert (RFC 8555 §7.6) and renewalInfo (RFC 9773). */
const t = useAcmeFixture({ requireEab: false });

/** Issues a certificate through ACME; returns the account, the leaf and the certificate's own key as an ACME key. */
async function issued(name: string) {
  const acct = await t.f.account();
  const o = await t.f.readyOrder(acct, [name]);
  const { pem: csrPem, keyPem } = await makeCsr({ sans: [{ type: 'dns', value: name }] });
  const csr = Buffer.from(fromPem(csrPem, 'CERTIFICATE REQUEST')[0]!).toString('base64url');
  const order = (await (await t.f.client.post(o.finalize, { csr }, { key: acct.key, kid: acct.kid })).json()) as { certificate: string };
  const chain = await (await t.f.client.post(order.certificate, '', { key: acct.key, kid: acct.kid })).text();
  const leaf = new x509.X509Certificate(chain.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
  const privateKey = (await importPKCS8(keyPem, 'ES256', { extractable: true })) as CryptoKey;
  const certKey: AccountKey = { alg: 'ES256', privateKey, jwk: await exportJWK(privateKey).then(({ d: _d, ...pub }) => pub) };
  return { acct, leaf, der: Buffer.from(leaf.rawData).toString('base64url'), certKey };
}

/** RFC 9773 §4.1 certificate identifier. */
function certId(leaf: x509.X509Certificate): string {
  const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId!;
  return `${Buffer.from(aki, 'hex').toString('base64url')}.${Buffer.from(leaf.serialNumber, 'hex').toString('base64url')}`;
}

describe('revokeCert', () => {
  it('ok/by the owning account; a repeat → alreadyRevoked', async () => {
    const c = await issued('rev1.example.test');
    const r = await t.f.client.post(t.f.links.revokeCert, { certificate: c.der, reason: 4 }, { key: c.acct.key, kid: c.acct.kid });
    expect(r.status).toBe(200);
    expect(await problemOf(await t.f.client.post(t.f.links.revokeCert, { certificate: c.der }, { key: c.acct.key, kid: c.acct.kid }))).toMatchObject({ status: 400, type: 'alreadyRevoked' });
  });

  it("ok/signed with the certificate's own key (jwk)", async () => {
    const c = await issued('rev2.example.test');
    const r = await t.f.client.post(t.f.links.revokeCert, { certificate: c.der, reason: 1 }, { key: c.certKey });
    expect(r.status).toBe(200);
  });

  it("fail/someone else's certificate → unauthorized 403", async () => {
    const c = await issued('rev3.example.test');
    const other = await t.f.account();
    expect(await problemOf(await t.f.client.post(t.f.links.revokeCert, { certificate: c.der }, { key: other.key, kid: other.kid }))).toMatchObject({ status: 403, type: 'unauthorized' });
    expect(await problemOf(await t.f.client.post(t.f.links.revokeCert, { certificate: c.der }, { key: other.key }))).toMatchObject({ status: 403, type: 'unauthorized' });
  });

  it('fail/bad reason (7, 8, 6, "x") → badRevocationReason 400', async () => {
    const c = await issued('rev4.example.test');
    for (const reason of [7, 8, 6, 'x', 11]) {
      expect(await problemOf(await t.f.client.post(t.f.links.revokeCert, { certificate: c.der, reason }, { key: c.acct.key, kid: c.acct.kid }))).toMatchObject({ status: 400, type: 'badRevocationReason' });
    }
  });

  it('fail/a certificate this CA did not issue → 404', async () => {
    const acct = await t.f.account();
    const der = Buffer.from(t.ca.root.rawData).toString('base64url');
    expect((await problemOf(await t.f.client.post(t.f.links.revokeCert, { certificate: der }, { key: acct.key, kid: acct.kid }))).status).toBe(404);
  });
});

describe('renewalInfo (ARI)', () => {
  it('ok/a fresh certificate gets a window inside its lifetime; after revocation the window is in the past', async () => {
    const c = await issued('ari.example.test');
    const url = `${t.f.links.renewalInfo}/${certId(c.leaf)}`;
    const r = await t.f.client.fetch(url);
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('Retry-After'))).toBeGreaterThan(0);
    const w = ((await r.json()) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
    const [start, end] = [Date.parse(w.start), Date.parse(w.end)];
    expect(start).toBeGreaterThan(c.leaf.notBefore.getTime());
    expect(end).toBeLessThan(c.leaf.notAfter.getTime());
    expect(start).toBeLessThan(end);

    await t.f.client.post(t.f.links.revokeCert, { certificate: c.der, reason: 1 }, { key: c.acct.key, kid: c.acct.kid });
    const after = ((await (await t.f.client.fetch(url)).json()) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
    const now = t.f.clock.now().getTime();
    expect(Date.parse(after.start)).toBeLessThan(now);
    expect(Date.parse(after.end)).toBeLessThan(now);
  });

  it('ok/newOrder may name the certificate it replaces', async () => {
    const c = await issued('replace.example.test');
    const r = await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'replace.example.test' }], replaces: certId(c.leaf) }, { key: c.acct.key, kid: c.acct.kid });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { replaces: string }).replaces).toBe(certId(c.leaf));
  });

  it('fail/a second order replacing the same certificate → alreadyReplaced 409 (RFC 9773 §5); after the first turns invalid it may be retried', async () => {
    const c = await issued('replace-twice.example.test');
    const ask = (replaces: string) => t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'replace-twice.example.test' }], replaces }, { key: c.acct.key, kid: c.acct.kid });
    const first = await ask(certId(c.leaf));
    expect(first.status).toBe(201);
    expect(await problemOf(await ask(certId(c.leaf)))).toMatchObject({ status: 409, type: 'alreadyReplaced' });
    // Another spelling of the same id (a leading zero octet on the serial) is no way around it.
    const [aki, serial] = certId(c.leaf).split('.');
    const padded = `${aki}.${Buffer.concat([Buffer.alloc(1), Buffer.from(serial!, 'base64url')]).toString('base64url')}`;
    expect((await problemOf(await ask(padded))).status).toBeGreaterThanOrEqual(400);
    // Concurrent replacements: exactly one wins.
    const firstId = first.headers.get('Location')!.split('/').at(-1)!;
    t.f.ctx.store.orders.transitionOrder(firstId, ['pending'], 'invalid');
    const rs = await Promise.all(Array.from({ length: 4 }, () => ask(certId(c.leaf))));
    expect(rs.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
  });

  it('fail/unknown or malformed certificate ids → 404 / 400', async () => {
    expect((await problemOf(await t.f.client.fetch(`${t.f.links.renewalInfo}/AAAA.AAAA`))).status).toBe(404);
    expect((await problemOf(await t.f.client.fetch(`${t.f.links.renewalInfo}/not-an-id`))).status).toBe(400);
  });
});
