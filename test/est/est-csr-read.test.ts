import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readEstCsr } from '../../src/est/csr.ts';
import { parseCsr } from '../../src/x509/csr.ts';
import { x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { useAcmeFixture } from '../acme/support/fixture.ts';
import { estApp } from './in-process.ts';

/**
 * EST reads a request's names and key without verifying its signature (src/est/csr.ts): the
 * authority verifies it once, on the same bytes, before anything is signed. So (1) EST's reading
 * must be the authority's reading, for every kind of request, and (2) a request whose signature
 * does not verify is still refused, renewal or enrollment, and nothing is issued.
 */
const t = useAcmeFixture();

type Name = { type: 'dns' | 'ip' | 'url'; value: string };
const b64 = (der: Uint8Array) => Buffer.from(Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\r\n'));

async function csrDer(o: { cn?: string; sans: Name[]; alg?: 'P-256' | 'P-384' | 'RSA' }): Promise<Uint8Array> {
  const alg = o.alg === 'RSA' ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: o.alg ?? 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: o.cn ? `CN=${o.cn}` : '', keys, signingAlgorithm: alg, extensions: [new x509.SubjectAlternativeNameExtension(o.sans)] });
  return new Uint8Array(csr.rawData);
}

/** The same request with its last signature octet changed: still DER, the signature no longer verifies. */
function badSignature(der: Uint8Array): Uint8Array {
  const out = new Uint8Array(der);
  out[out.length - 1] = out[out.length - 1]! ^ 0x01;
  return out;
}

describe('EST reads a request as the authority does', () => {
  const cases: [string, Parameters<typeof csrDer>[0]][] = [
    ['P-256, DNS + CN', { cn: 'a.devices.test', sans: [{ type: 'dns', value: 'a.devices.test' }] }],
    ['P-384, several names of each kind', { sans: [{ type: 'dns', value: 'b.devices.test' }, { type: 'ip', value: '10.0.0.7' }, { type: 'ip', value: '2001:db8::7' }, { type: 'url', value: 'spiffe://corp/ns/p/sa/b' }], alg: 'P-384' }],
    ['RSA (read in full here too)', { cn: 'c.devices.test', sans: [{ type: 'dns', value: 'c.devices.test' }], alg: 'RSA' }],
  ];
  for (const [what, o] of cases) {
    it(`ok/${what}: the same names, CN, key and bytes as parseCsr`, async () => {
      const der = await csrDer(o);
      const full = await parseCsr(der);
      const { der: bytes, publicKeySpki, commonName, sans } = await readEstCsr(b64(der));
      expect({ der: bytes, publicKeySpki, commonName, sans }).toEqual({ der: full.der, publicKeySpki: full.publicKeySpki, commonName: full.commonName, sans: full.sans });
    });
  }

  it('bad/what the CSR policy refuses is refused by EST as by the authority (a name not in canonical form, CA:true)', async () => {
    await expect(readEstCsr(b64(await csrDer({ sans: [{ type: 'dns', value: 'Upper.devices.test' }] })))).rejects.toMatchObject({ status: 403, code: 'rejectedIdentifier' });
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const ca = await x509.Pkcs10CertificateRequestGenerator.create({ name: '', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' }, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] });
    await expect(readEstCsr(b64(new Uint8Array(ca.rawData)))).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/CA:true/) });
  });
});

describe('a request whose signature does not verify', () => {
  const certificateCount = () => t.ca.store.certificates.countByStatus();

  it('bad/simplereenroll: 400 saying the signature does not verify; nothing issued, no replacement recorded', async () => {
    const a = estApp(t);
    const names = { cn: 'sig.devices.test', sans: [{ type: 'dns' as const, value: 'sig.devices.test' }] };
    const current = await t.ca.authority.issue((await makeCsr(names)).pem);
    a.setPeer(current.der);
    const before = certificateCount();
    const r = await a.post('simplereenroll', badSignature(await csrDer(names)));
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/bad CSR: the CSR signature does not verify/);
    expect(certificateCount()).toEqual(before);
    expect(t.ca.store.lineage.replacementsOf(current.serial)).toEqual([]);
    // The same request, signed as it should be, renews.
    const good = await a.post('simplereenroll', await csrDer(names));
    expect(good.status, good.text).toBe(200);
    expect(t.ca.store.lineage.replacementsOf(current.serial)).toHaveLength(1);
  });

  it('bad/simpleenroll: 400, nothing issued, and the enrollment key keeps its use', async () => {
    const a = estApp(t);
    const { createEstKey } = await import('../../src/index.ts');
    const key = await createEstKey({ dir: t.ca.dir, store: t.ca.store }, { label: 'sig', scopes: ['dns:*.devices.test'], maxUses: 1 });
    const basic = { Authorization: `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}` };
    const names = { sans: [{ type: 'dns' as const, value: 'sig2.devices.test' }] };
    const before = certificateCount();
    const r = await a.post('simpleenroll', badSignature(await csrDer(names)), basic);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/bad CSR: the CSR signature does not verify/);
    expect(certificateCount()).toEqual(before);
    const good = await a.post('simpleenroll', await csrDer(names), basic);
    expect(good.status, good.text).toBe(200);
  });
});
