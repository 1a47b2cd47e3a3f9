import { beforeAll, describe, expect, it } from 'vitest';
import { isCaError } from '../../src/domain/errors.ts';
import { parseCsr, parseCsrAsn1, parseCsrFast, parseCsrGeneric, type CsrInfo } from '../../src/x509/csr.ts';
import { readCsrStrict } from '../../src/x509/csr-der.ts';
import { judgeCsr } from '../../src/x509/csr-policy.ts';
import type { CsrParts, RequestedExtension } from '../../src/x509/csr-types.ts';
import { x509 } from '../../src/x509/x509.ts';

/**
 * The CSR policy is one function (judgeCsr): its rules are tested here once, on hand-made parts;
 * then each parser path is shown to hand every kind of refused request to it, so the same request
 * is refused with the same CaError whichever parser read it.
 */
const CA_TRUE = 'the CSR asks for CA:true; this CA issues end-entity certificates only';
const EMAIL_SAN = 'the CSR asks for a email subject alternative name; only DNS, IP and URI names are issued';
const UNKNOWN_CRITICAL = 'the CSR asks for unsupported critical extension 1.3.6.1.4.1.99999.1';
const TWO_REQUESTS = 'the CSR carries more than one extensionRequest attribute';

function parts(extensions: RequestedExtension[], extensionRequests = extensions.length ? 1 : 0): CsrParts {
  return { der: Uint8Array.of(0x30, 0), publicKeySpki: Uint8Array.of(1), keyAlg: 'ecdsa-p256', commonName: 'a.example', extensionRequests, extensions, subjectKeyId: 'ab' };
}
const san = (...names: [string, string][]): RequestedExtension => ({ id: '2.5.29.17', critical: false, kind: 'san', names: names.map(([type, value]) => ({ type, value })) });
const bc = (ca: boolean): RequestedExtension => ({ id: '2.5.29.19', critical: true, kind: 'basicConstraints', ca });
const other = (id: string, critical: boolean): RequestedExtension => ({ id, critical, kind: 'other' });

function refusal(f: () => unknown): { kind: string; message: string } {
  try {
    f();
  } catch (e) {
    if (!isCaError(e)) throw e;
    return { kind: e.kind, message: e.message };
  }
  throw new Error('accepted');
}

describe('judgeCsr: the CSR policy, once', () => {
  it('accepts: SANs in canonical form mapped unchanged (url → uri), the requested EKU, the rest passed through', () => {
    const eku: RequestedExtension = { id: '2.5.29.37', critical: false, kind: 'eku', oids: ['1.3.6.1.5.5.7.3.1'] };
    const p = parts([san(['dns', 'a.example'], ['ip', '10.0.0.1'], ['url', 'spiffe://corp/a']), bc(false), eku, other('2.5.29.15', true), other('1.3.6.1.4.1.99999.1', false)]);
    expect(judgeCsr(p)).toEqual({
      der: p.der,
      publicKeySpki: p.publicKeySpki,
      keyAlg: 'ecdsa-p256',
      commonName: 'a.example',
      sans: [
        { type: 'dns', value: 'a.example' },
        { type: 'ip', value: '10.0.0.1' },
        { type: 'uri', value: 'spiffe://corp/a' },
      ],
      requestedEku: ['1.3.6.1.5.5.7.3.1'],
      subjectKeyId: 'ab',
    } satisfies CsrInfo);
    expect(judgeCsr(parts([]))).toMatchObject({ sans: [], requestedEku: [] });
  });

  it('refuses CA:true', () => {
    expect(refusal(() => judgeCsr(parts([bc(true)])))).toEqual({ kind: 'badCsr', message: CA_TRUE });
  });

  it('refuses every SAN type but DNS, IP and URI, by its type', () => {
    for (const type of ['email', 'dn', 'id', 'other']) {
      expect(refusal(() => judgeCsr(parts([san(['dns', 'a.example'], [type, 'x'])])))).toEqual({
        kind: 'badCsr',
        message: `the CSR asks for a ${type} subject alternative name; only DNS, IP and URI names are issued`,
      });
    }
  });

  it('refuses a SAN that is not a valid name of its type', () => {
    expect(refusal(() => judgeCsr(parts([san(['dns', 'a..example'])])))).toMatchObject({ kind: 'rejectedIdentifier' });
    expect(refusal(() => judgeCsr(parts([san(['ip', '10.0.0.256'])])))).toMatchObject({ kind: 'rejectedIdentifier' });
  });

  it('refuses a SAN that is not in canonical form, never rewriting it (#16)', () => {
    // An IPv4-mapped address reads from the CSR's 16 octets as ::ffff:a00:1; the others are text as sent.
    for (const [type, value] of [['dns', 'A.Example'], ['dns', 'a.example.'], ['ip', '::ffff:a00:1'], ['url', 'spiffe://corp/payments/../admin'], ['url', 'spiffe://corp/payments/%2E%2E/admin'], ['url', 'spiffe://corp/a b']]) {
      expect(refusal(() => judgeCsr(parts([san([type!, value!])]))), value).toMatchObject({ kind: 'rejectedIdentifier' });
    }
  });

  it('refuses an unknown critical extension, not a known critical one nor an unknown non-critical one', () => {
    expect(refusal(() => judgeCsr(parts([other('1.3.6.1.4.1.99999.1', true)])))).toEqual({ kind: 'badCsr', message: UNKNOWN_CRITICAL });
    for (const id of ['2.5.29.15', '2.5.29.14']) expect(judgeCsr(parts([other(id, true)])).sans).toEqual([]);
  });

  it('refuses more than one extensionRequest attribute, before looking at what the first asks for', () => {
    expect(refusal(() => judgeCsr(parts([san(['dns', 'a.example'])], 2)))).toEqual({ kind: 'badCsr', message: TWO_REQUESTS });
    expect(refusal(() => judgeCsr(parts([bc(true)], 2)))).toEqual({ kind: 'badCsr', message: TWO_REQUESTS });
  });

  it('judges the extensions in order: the first rule broken is the one reported', () => {
    expect(refusal(() => judgeCsr(parts([other('1.3.6.1.4.1.99999.1', true), bc(true)])))).toEqual({ kind: 'badCsr', message: UNKNOWN_CRITICAL });
    expect(refusal(() => judgeCsr(parts([bc(true), other('1.3.6.1.4.1.99999.1', true)])))).toEqual({ kind: 'badCsr', message: CA_TRUE });
  });
});

describe('every parser path hands its request to the one policy', () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  let keys: CryptoKeyPair;
  beforeAll(async () => {
    keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  });
  const dns = (value: string) => new x509.SubjectAlternativeNameExtension([{ type: 'dns', value }]);
  const csr = async (extensions: x509.Extension[], first?: x509.Extension[]) =>
    new Uint8Array(
      (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=a.example', keys, signingAlgorithm: alg, extensions, attributes: first && [new x509.ExtensionsAttribute(first)] })).rawData,
    );

  /** Each path alone; the strict one must read the request (else parseCsrFast would be the asn1 path). */
  const paths: Record<string, (der: Uint8Array) => Promise<CsrInfo | null>> = {
    strict: async (der) => {
      expect(readCsrStrict(der)).not.toBeNull();
      return parseCsrFast(der);
    },
    asn1: async (der) => parseCsrAsn1(der),
    generic: (der) => parseCsrGeneric(der),
    parseCsr: (der) => parseCsr(der),
  };

  const cases: [string, () => Promise<Uint8Array>, string][] = [
    ['CA:true', () => csr([dns('a.example'), new x509.BasicConstraintsExtension(true, undefined, true)]), CA_TRUE],
    ['an email SAN', () => csr([new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example' }, { type: 'email', value: 'a@corp.example' }])]), EMAIL_SAN],
    ['an unknown critical extension', () => csr([dns('a.example'), new x509.Extension('1.3.6.1.4.1.99999.1', true, Uint8Array.of(0x05, 0x00))]), UNKNOWN_CRITICAL],
    ['two extensionRequest attributes', () => csr([dns('b.example')], [dns('a.example')]), TWO_REQUESTS],
    ['two extensionRequest attributes, the first asking for CA:true', () => csr([dns('b.example')], [new x509.BasicConstraintsExtension(true, undefined, true)]), TWO_REQUESTS],
  ];

  for (const [what, make, message] of cases) {
    it(`${what}: refused by every path with the same CaError`, async () => {
      const der = await make();
      for (const [path, parse] of Object.entries(paths)) {
        await expect(parse(der), path).rejects.toMatchObject({ name: 'CaError', kind: 'badCsr', message });
      }
    });
  }

  it('the same request without those asks is accepted by every path alike', async () => {
    const der = await csr([dns('a.example')]);
    const infos = await Promise.all(Object.values(paths).map((parse) => parse(der)));
    for (const info of infos) expect(info).toEqual(infos[0]);
    expect(infos[0]).toMatchObject({ commonName: 'a.example', sans: [{ type: 'dns', value: 'a.example' }] });
  });
});
