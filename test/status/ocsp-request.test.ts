import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseOcspRequest, parseOcspRequestFull, readOcspRequestFast, type OcspRequestInfo } from '../../src/status/ocsp-request.ts';

const SHA1 = '1.3.14.3.2.26';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const view = (r: OcspRequestInfo | null) =>
  r && {
    nonce: r.nonce && hex(r.nonce),
    certs: r.certs.map((c) => ({ alg: c.hashAlgorithm, name: hex(c.issuerNameHash), key: hex(c.issuerKeyHash), serial: c.serial, id: hex(c.certIdDer) })),
  };

/** Requests of every shape the schema allows, built by @peculiar/asn1-ocsp (the reference encoder). */
const requestArb = fc
  .record({
    certs: fc.array(
      fc.record({
        alg: fc.constantFrom(SHA1, '2.16.840.1.101.3.4.2.1', '1.2.840.113549.2.5', '1.2.3.4.5.6.7.8.123456789'),
        nullParams: fc.boolean(),
        name: fc.uint8Array({ minLength: 0, maxLength: 70 }),
        key: fc.uint8Array({ minLength: 0, maxLength: 70 }),
        // Mostly positive minimal serials (as CAs issue them), sometimes any INTEGER contents.
        serial: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 21 }), fc.integer({ min: 0, max: 4 })).map(([b, r]) => {
          if (r !== 0) b[0] = (b[0]! & 0x7f) | 0x40;
          return b;
        }),
        singleExt: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    nonce: fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { nil: undefined }),
    otherExt: fc.option(fc.record({ critical: fc.boolean(), value: fc.uint8Array({ maxLength: 10 }) }), { nil: undefined }),
    requestor: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
  })
  .map((p) => {
    const tbs = new ocsp.TBSRequest({
      requestList: p.certs.map(
        (c) =>
          new ocsp.Request({
            reqCert: new ocsp.CertID({
              hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: c.alg, ...(c.nullParams ? { parameters: null } : {}) }),
              issuerNameHash: new OctetString(c.name),
              issuerKeyHash: new OctetString(c.key),
              serialNumber: c.serial.slice().buffer,
            }),
            ...(c.singleExt ? { singleRequestExtensions: new asn1X509.Extensions([new asn1X509.Extension({ extnID: '1.2.3', extnValue: new OctetString(2) })]) } : {}),
          }),
      ),
    });
    const exts: asn1X509.Extension[] = [];
    if (p.nonce) exts.push(new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, extnValue: new OctetString(AsnConvert.serialize(new OctetString(p.nonce))) }));
    if (p.otherExt) exts.push(new asn1X509.Extension({ extnID: '1.3.6.1.5.5.7.48.1.4', critical: p.otherExt.critical, extnValue: new OctetString(p.otherExt.value) }));
    if (exts.length) tbs.requestExtensions = exts;
    if (p.requestor) tbs.requestorName = new asn1X509.GeneralName({ dNSName: 'client.example' });
    return new Uint8Array(AsnConvert.serialize(new ocsp.OCSPRequest({ tbsRequest: tbs })));
  });

describe('OCSP request reader', () => {
  it('ok/the fast reader never disagrees with the full parser on well-formed requests', () => {
    let taken = 0;
    fc.assert(
      fc.property(requestArb, (der) => {
        const fast = readOcspRequestFast(der);
        if (fast !== null) {
          taken++;
          expect(view(fast)).toEqual(view(parseOcspRequestFull(der)));
        }
      }),
      { numRuns: 2000 },
    );
    // The comparison means something only if the fast reader took a good share of them.
    expect(taken).toBeGreaterThan(200);
  });

  it('ok/the fast reader takes the common shape (what openssl sends)', () => {
    // openssl ocsp -issuer … -cert … (SHA-1 CertID, with a 16-octet nonce)
    const der = Buffer.from(
      '3076307430' + '4d304b3049300906052b0e03021a05000414' + '11'.repeat(20) + '0414' + '22'.repeat(20) + '021040' + '33'.repeat(15) +
        'a2233021301f06092b0601050507300102041204101234567890abcdef1234567890abcdef',
      'hex',
    );
    const fast = readOcspRequestFast(der);
    expect(fast).not.toBeNull();
    expect(fast!.certs[0]!.serial).toBe('40' + '33'.repeat(15));
    expect(hex(fast!.nonce!)).toBe('1234567890abcdef1234567890abcdef');
    expect(view(fast)).toEqual(view(parseOcspRequestFull(der)));
  });

  it('ok/mutated and truncated requests: the fast reader either declines or agrees, nothing throws', () => {
    fc.assert(
      fc.property(requestArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), (der, flips, cut) => {
        const m = der.slice(0, Math.max(1, der.length - (cut % 4)));
        for (const [i, v] of flips) m[i % m.length] = v;
        const fast = readOcspRequestFast(m);
        const full = parseOcspRequestFull(m);
        if (fast !== null) expect(view(fast)).toEqual(view(full));
        expect(() => parseOcspRequest(m)).not.toThrow();
      }),
      { numRuns: 1500 },
    );
  });

  it('regression/an extension with an invalid OID: the fast reader declines, as the full parser refuses it', () => {
    // Found by the mutation property: the nonce OID's first and last octets flipped (…0x00 … 0x80).
    const good = fc.sample(requestArb, { numRuns: 200, seed: 7 }).find((d) => {
      const r = readOcspRequestFast(d);
      return r?.nonce && Buffer.from(d).toString('hex').includes('06092b0601050507300102');
    })!;
    expect(good).toBeDefined();
    const bad = Buffer.from(Buffer.from(good).toString('hex').replace('06092b0601050507300102', '0609000601050507300180'), 'hex');
    expect(parseOcspRequestFull(bad)).toBeNull();
    expect(readOcspRequestFast(bad)).toBeNull();
  });

  it('fail/random bytes are refused without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(() => parseOcspRequest(b)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});
