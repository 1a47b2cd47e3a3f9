import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCsr } from '../../src/x509/csr.ts';
import { x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';

async function csrWithKey(alg: RsaHashedKeyGenParams | EcKeyGenParams, extensions: x509.Extension[] = [], signAlg?: Algorithm) {
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=svc.internal',
    keys,
    signingAlgorithm: signAlg ?? alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'svc.internal' }]), ...extensions],
  });
}

describe('parseCsr', () => {
  it('ok/reads names, key algorithm and requested EKU', async () => {
    const { pem } = await makeCsr({ cn: 'A.Internal', sans: [{ type: 'dns', value: 'a.internal' }, { type: 'ip', value: '10.0.0.1' }, { type: 'url', value: 'spiffe://corp/a' }] });
    const info = await parseCsr(pem);
    expect(info.keyAlg).toBe('ecdsa-p256');
    expect(info.commonName).toBe('A.Internal');
    expect(info.sans).toEqual([
      { type: 'dns', value: 'a.internal' },
      { type: 'ip', value: '10.0.0.1' },
      { type: 'uri', value: 'spiffe://corp/a' },
    ]);
  });

  it('fail/a CSR whose signature does not verify', async () => {
    const csr = await csrWithKey({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as EcKeyGenParams);
    const der = new Uint8Array(csr.rawData);
    der[der.length - 5] = der.at(-5)! ^ 0xff; // flip bits inside the signature
    await expect(parseCsr(der)).rejects.toMatchObject({ kind: 'badCsr', detail: expect.stringMatching(/signature/) });
  });

  it('fail/an RSA-1024 key', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const csr = await csrWithKey(alg);
    await expect(parseCsr(csr.toString('pem'))).rejects.toMatchObject({ kind: 'badKey', detail: expect.stringMatching(/1024 bits/) });
  });

  it('fail/an RSA key with exponent 3', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([3]), hash: 'SHA-256' };
    const csr = await csrWithKey(alg);
    await expect(parseCsr(csr.toString('pem'))).rejects.toMatchObject({ kind: 'badKey', detail: expect.stringMatching(/exponent/) });
  });

  it('fail/a P-521 key', async () => {
    const csr = await csrWithKey({ name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' } as EcKeyGenParams);
    await expect(parseCsr(csr.toString('pem'))).rejects.toMatchObject({ kind: 'badKey' });
  });

  it('fail/a CSR asking for CA:true', async () => {
    const csr = await csrWithKey({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as EcKeyGenParams, [new x509.BasicConstraintsExtension(true, 0, true)]);
    await expect(parseCsr(csr.toString('pem'))).rejects.toMatchObject({ kind: 'badCsr', detail: expect.stringMatching(/CA:true/) });
  });

  it('fail/garbage is not a CSR', async () => {
    await expect(parseCsr(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]))).rejects.toMatchObject({ kind: 'badCsr' });
    await expect(parseCsr('not a csr')).rejects.toMatchObject({ kind: 'badCsr' });
  });

  it('ok/RSA 2048 with e=65537 passes the key rules', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(publicKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const csr = await csrWithKey(alg);
    expect((await parseCsr(csr.toString('pem'))).keyAlg).toBe('rsa-2048');
  });
});
