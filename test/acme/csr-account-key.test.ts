import { calculateJwkThumbprint, importJWK } from 'jose';
import { thumbprint } from '../../src/acme/jws.ts';
import { describe, expect, it } from 'vitest';
import { x509 } from '../../src/x509/x509.ts';
import { newAccountKey, problemOf, type AccountKey } from './support/client.ts';
import { csrFor } from './support/csr.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** RFC 8555 §11.1: a CSR whose key is an ACME account key is badCSR, whichever account holds it. */
const t = useAcmeFixture({ requireEab: false });

const SIGNING = { ES256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }, ES384: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }, RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } } as const;

/** A CSR for `names` signed with (and carrying) an account's key pair. */
async function csrWithKey(key: AccountKey & { alg: 'ES256' | 'ES384' | 'RS256' }, names: string[]): Promise<string> {
  const publicKey = (await importJWK({ ...key.jwk, alg: key.alg }, key.alg, { extractable: true })) as CryptoKey;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: '',
    keys: { privateKey: key.privateKey, publicKey },
    signingAlgorithm: SIGNING[key.alg],
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  return Buffer.from(csr.rawData).toString('base64url');
}

type Acct = Awaited<ReturnType<typeof t.f.account>>;
const finalize = (a: Acct, url: string, csr: string) => t.f.client.post(url, { csr }, { key: a.key, kid: a.kid });
const orderStatus = async (a: Acct, url: string) => ((await (await t.f.client.post(url, '', { key: a.key, kid: a.kid })).json()) as { status: string }).status;

describe('thumbprint (RFC 7638)', () => {
  it.each(['ES256', 'ES384', 'RS256', 'EdDSA'] as const)('ok/the direct %s thumbprint equals jose calculateJwkThumbprint', async (alg) => {
    for (let i = 0; i < 5; i++) {
      const { jwk } = await newAccountKey(alg);
      expect(await thumbprint({ ...jwk, alg, use: 'sig' })).toBe(await calculateJwkThumbprint(jwk, 'sha256'));
    }
  });
});

describe('CSR key = account key (RFC 8555 §11.1)', () => {
  it("fail/the requester's own account key → badCSR; the order stays ready and a proper CSR then succeeds", async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['own-key.example.test']);
    const before = t.ca.store.certificates.countByStatus().valid ?? 0;
    const p = await problemOf(await finalize(a, o.finalize, await csrWithKey(a.key as AccountKey & { alg: 'ES256' }, ['own-key.example.test'])));
    expect(p).toMatchObject({ status: 400, type: 'badCSR' });
    expect(p.detail).toMatch(/account key/);
    expect(t.ca.store.certificates.countByStatus().valid ?? 0).toBe(before);
    expect(await orderStatus(a, o.url)).toBe('ready');
    expect((await finalize(a, o.finalize, await csrFor(['own-key.example.test']))).status).toBe(200);
  });

  it.each(['ES256', 'ES384', 'RS256'] as const)("fail/another account's %s key (valid or deactivated) → badCSR", async (alg) => {
    const a = await t.f.account();
    const other = await t.f.account({ key: await newAccountKey(alg) });
    const o = await t.f.readyOrder(a, [`other-${alg.toLowerCase()}.example.test`]);
    const csr = await csrWithKey(other.key as AccountKey & { alg: typeof alg }, [`other-${alg.toLowerCase()}.example.test`]);
    expect(await problemOf(await finalize(a, o.finalize, csr))).toMatchObject({ status: 400, type: 'badCSR' });
    expect((await t.f.client.post(other.kid, { status: 'deactivated' }, { key: other.key, kid: other.kid })).status).toBe(200);
    expect(await problemOf(await finalize(a, o.finalize, csr))).toMatchObject({ status: 400, type: 'badCSR' });
    expect(await orderStatus(a, o.url)).toBe('ready');
  });

  it('fail/an account JWK not in canonical form (RSA modulus with a leading zero octet) → badPublicKey, so thumbprints identify keys', async () => {
    const key = await newAccountKey('RS256');
    const n = Buffer.concat([Buffer.alloc(1), Buffer.from(key.jwk.n!, 'base64url')]).toString('base64url');
    const padded = { ...key.jwk, n };
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true }, { key, header: { jwk: padded } }))).toMatchObject({ status: 400, type: 'badPublicKey' });
  });
});
