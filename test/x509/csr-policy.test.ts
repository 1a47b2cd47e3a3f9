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
const other = (id: string, critical: boolean, value: Uint8Array = Uint8Array.of(0x05, 0x00)): RequestedExtension => ({ id, critical, kind: 'other', value });
const MUST_STAPLE = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x05);
const tlsFeature = (value: Uint8Array = MUST_STAPLE, critical = false) => other('1.3.6.1.5.5.7.1.24', critical, value);
const UNKNOWN_NON_CRITICAL = /^the CSR asks for extension 1\.3\.6\.1\.4\.1\.99999\.2, which pki does not put in certificates/;

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
  it('accepts: SANs in canonical form mapped unchanged (url → uri), the requested EKU and keyUsage, the key\'s own SKI, must-staple', () => {
    const eku: RequestedExtension = { id: '2.5.29.37', critical: false, kind: 'eku', oids: ['1.3.6.1.5.5.7.3.1'] };
    const ku = other('2.5.29.15', true, Uint8Array.of(0x03, 0x02, 0x05, 0xa0)); // digitalSignature, keyEncipherment
    const p = parts([san(['dns', 'a.example'], ['ip', '10.0.0.1'], ['url', 'spiffe://corp/a']), bc(false), eku, ku, other('2.5.29.14', false, Uint8Array.of(0x04, 0x01, 0xab)), tlsFeature()]);
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
      requestedKeyUsage: ['digitalSignature', 'keyEncipherment'],
      tlsFeature: MUST_STAPLE,
    } satisfies CsrInfo);
    expect(judgeCsr(parts([]))).toMatchObject({ sans: [], requestedEku: [], requestedKeyUsage: [], tlsFeature: null });
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

  it('refuses an unknown extension, critical or not: nothing requested is dropped in silence', () => {
    expect(refusal(() => judgeCsr(parts([other('1.3.6.1.4.1.99999.1', true)])))).toEqual({ kind: 'badCsr', message: UNKNOWN_CRITICAL });
    expect(refusal(() => judgeCsr(parts([other('1.3.6.1.4.1.99999.2', false)])))).toMatchObject({ kind: 'badCsr', message: expect.stringMatching(UNKNOWN_NON_CRITICAL) });
    // certificatePolicies, AIA, CRL distribution points, nameConstraints, issuerAltName: pki does not copy them.
    for (const id of ['2.5.29.32', '1.3.6.1.5.5.7.1.1', '2.5.29.31', '2.5.29.30', '2.5.29.18']) {
      expect(refusal(() => judgeCsr(parts([other(id, false)])))).toMatchObject({ kind: 'badCsr', message: expect.stringContaining(`extension ${id}, which pki does not put in certificates`) });
    }
  });

  it('a subjectKeyIdentifier other than the key\'s own is refused', () => {
    expect(judgeCsr(parts([other('2.5.29.14', false, Uint8Array.of(0x04, 0x01, 0xab))])).sans).toEqual([]);
    expect(refusal(() => judgeCsr(parts([other('2.5.29.14', false, Uint8Array.of(0x04, 0x01, 0xcd))])))).toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/subject key identifier cd; .* ab/) });
  });

  it('must-staple (TLS Feature, RFC 7633): honoured as requested when it asks for OCSP stapling, non-critical; refused otherwise, saying why', () => {
    const v2 = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x11);
    expect(judgeCsr(parts([tlsFeature(v2)])).tlsFeature).toEqual(v2);
    const refused: [Uint8Array, boolean, RegExp][] = [
      [MUST_STAPLE, true, /critical TLS Feature .* non-critical only/],
      [Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x06), false, /other than status_request/],
      [Uint8Array.of(0x30, 0x00), false, /non-empty SEQUENCE OF INTEGER/],
      [Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05), false, /twice/],
      [Uint8Array.of(0x04, 0x01, 0x05), false, /SEQUENCE OF INTEGER/],
    ];
    for (const [value, critical, message] of refused) {
      expect(refusal(() => judgeCsr(parts([tlsFeature(value, critical)])))).toMatchObject({ kind: 'badCsr', message: expect.stringMatching(message) });
    }
  });

  it('refuses an extension asked for twice (a second EKU would otherwise replace the first)', () => {
    const eku = (oid: string): RequestedExtension => ({ id: '2.5.29.37', critical: false, kind: 'eku', oids: [oid] });
    expect(refusal(() => judgeCsr(parts([eku('1.3.6.1.5.5.7.3.3'), eku('1.3.6.1.5.5.7.3.1')])))).toEqual({ kind: 'badCsr', message: 'the CSR asks for extension 2.5.29.37 more than once' });
    expect(refusal(() => judgeCsr(parts([san(['dns', 'a.example']), san(['dns', 'b.example'])])))).toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/2\.5\.29\.17 more than once/) });
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
    ['an unknown non-critical extension', () => csr([dns('a.example'), new x509.Extension('1.3.6.1.4.1.99999.2', false, Uint8Array.of(0x05, 0x00))]), 'UNKNOWN_NON_CRITICAL'],
    ['a critical must-staple', () => csr([dns('a.example'), new x509.Extension('1.3.6.1.5.5.7.1.24', true, MUST_STAPLE)]), 'the CSR asks for a critical TLS Feature extension; pki issues it non-critical only (RFC 7633 §4.2)'],
    ['two EKU extensions', () => csr([dns('a.example'), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3']), new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1'])]), 'the CSR asks for extension 2.5.29.37 more than once'],
    ['a certificatePolicies extension', () => csr([dns('a.example'), new x509.CertificatePolicyExtension(['1.2.3.4'])]), 'CERT_POLICIES'],
    ['two extensionRequest attributes, the first asking for CA:true', () => csr([dns('b.example')], [new x509.BasicConstraintsExtension(true, undefined, true)]), TWO_REQUESTS],
  ];

  const messages: Record<string, string | RegExp> = { UNKNOWN_NON_CRITICAL, CERT_POLICIES: /^the CSR asks for extension 2\.5\.29\.32, which pki does not put/ };
  for (const [what, make, text] of cases) {
    it(`${what}: refused by every path with the same CaError`, async () => {
      const der = await make();
      const message = messages[text] ?? text;
      for (const [path, parse] of Object.entries(paths)) {
        if (path === 'strict' && text === 'CERT_POLICIES') continue; // the strict reader leaves certificatePolicies to the decoders
        await expect(parse(der), path).rejects.toMatchObject({ name: 'CaError', kind: 'badCsr', message: typeof message === 'string' ? message : expect.stringMatching(message) });
      }
    });
  }

  it('the same request without those asks, with must-staple and keyUsage, is accepted by every path alike', async () => {
    const der = await csr([dns('a.example'), new x509.Extension('1.3.6.1.5.5.7.1.24', false, MUST_STAPLE), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)]);
    const infos = await Promise.all(Object.values(paths).map((parse) => parse(der)));
    for (const info of infos) expect(info).toEqual(infos[0]);
    expect(infos[0]).toMatchObject({ commonName: 'a.example', sans: [{ type: 'dns', value: 'a.example' }], tlsFeature: MUST_STAPLE, requestedKeyUsage: ['digitalSignature'] });
  });
});
