import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signOcspResponse, type ResponderKey, type SingleAnswer } from '../../src/status/ocsp-response.ts';
import { signOcspResponseGeneric } from './reference-ocsp-response.ts';

/** The direct (DER concatenation) encoder must produce exactly what @peculiar/asn1-ocsp produces. */
const responderArb = fc.record({
  keyHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  alg: fc.constantFrom('ecdsa-p256' as const, 'ecdsa-p384' as const, 'rsa-2048' as const),
  signature: fc.uint8Array({ minLength: 8, maxLength: 300 }),
});
// Any DER certificate-shaped SEQUENCE will do for the certs field: the encoder parses it as a Certificate, so use a real one's shape.
const certDer = new Uint8Array(
  AsnConvert.serialize(
    new asn1X509.Certificate({
      tbsCertificate: new asn1X509.TBSCertificate({
        serialNumber: Uint8Array.of(1).buffer,
        signature: new asn1X509.AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }),
        issuer: new asn1X509.Name([]),
        subject: new asn1X509.Name([]),
        validity: new asn1X509.Validity({ notBefore: new Date(0), notAfter: new Date(1e12) }),
        subjectPublicKeyInfo: new asn1X509.SubjectPublicKeyInfo({ algorithm: new asn1X509.AlgorithmIdentifier({ algorithm: '1.2.840.10045.2.1' }), subjectPublicKey: new Uint8Array(65).buffer }),
      }),
      signatureAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }),
      signatureValue: new Uint8Array(70).buffer,
    }),
  ),
);
const time = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59Z'), noInvalidDate: true });
const answerArb: fc.Arbitrary<SingleAnswer> = fc.record({
  certIdDer: fc.record({ name: fc.uint8Array({ minLength: 20, maxLength: 32 }), key: fc.uint8Array({ minLength: 20, maxLength: 32 }), serial: fc.uint8Array({ minLength: 1, maxLength: 20 }) }).map(({ name, key, serial }) => {
    serial[0] = (serial[0]! & 0x7f) | 0x01;
    return new Uint8Array(
      AsnConvert.serialize(
        new ocsp.CertID({ hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }), issuerNameHash: new OctetString(name), issuerKeyHash: new OctetString(key), serialNumber: serial.slice().buffer }),
      ),
    );
  }),
  status: fc.oneof(
    fc.constant({ kind: 'good' as const }),
    fc.constant({ kind: 'unknown' as const }),
    fc.record({ kind: fc.constant('revoked' as const), revokedAt: time, reason: fc.option(fc.constantFrom(1, 2, 3, 4, 5, 6, 9, 10)) }),
  ),
  thisUpdate: time,
  nextUpdate: time,
});

describe('OCSP response encoding', () => {
  it('the direct encoder equals @peculiar/asn1-ocsp byte for byte (one or several answers, any status, any year)', () => {
    fc.assert(
      fc.property(responderArb, time, fc.array(answerArb, { minLength: 1, maxLength: 3 }), (r, producedAt, answers) => {
        const signed: Uint8Array[] = [];
        const responder: ResponderKey = { serial: '01', certDer, keyHash: r.keyHash, alg: r.alg, notAfter: new Date(), sign: (tbs) => (signed.push(tbs), r.signature) };
        const direct = signOcspResponse({ responder, producedAt, answers });
        const generic = signOcspResponseGeneric({ responder, producedAt, answers });
        expect(Buffer.from(direct).toString('hex')).toBe(Buffer.from(generic).toString('hex'));
        expect(Buffer.from(signed[0]!).toString('hex')).toBe(Buffer.from(signed[1]!).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('ok/a nonce is echoed as the client encoded it (RFC 8954), and the direct encoder still equals the reference for the usual wrapped one', () => {
    fc.assert(
      fc.property(responderArb, time, answerArb, fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.boolean(), (r, producedAt, answer, value, wrapped) => {
        const responder: ResponderKey = { serial: '01', certDer, keyHash: r.keyHash, alg: r.alg, notAfter: new Date(), sign: () => r.signature };
        const nonceExtnValue = wrapped ? new Uint8Array(AsnConvert.serialize(new OctetString(value))) : value;
        const direct = signOcspResponse({ responder, producedAt, answers: [answer], nonceExtnValue });
        expect(Buffer.from(direct).toString('hex')).toBe(Buffer.from(signOcspResponseGeneric({ responder, producedAt, answers: [answer], nonceExtnValue })).toString('hex'));
        const basic = AsnConvert.parse(AsnConvert.parse(direct, ocsp.OCSPResponse).responseBytes!.response.buffer, ocsp.BasicOCSPResponse);
        const echoed = basic.tbsResponseData.responseExtensions!.find((e) => e.extnID === ocsp.id_pkix_ocsp_nonce)!;
        expect(Buffer.from(echoed.extnValue.buffer).equals(Buffer.from(nonceExtnValue))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('regression/a CertID is echoed byte for byte, whatever its (DER) shape, with or without a nonce', () => {
    // SHA-256 without parameters, a 1-octet name hash: nothing a re-encoder would write the same way unless it kept the bytes.
    const certIdDer = Buffer.from('3029300b0609608648016503040201040111041422222222222222222222222222222222222222220201' + '05', 'hex');
    certIdDer[1] = certIdDer.length - 2;
    const responder: ResponderKey = { serial: '01', certDer, keyHash: new Uint8Array(20), alg: 'ecdsa-p256', notAfter: new Date(), sign: () => new Uint8Array(8) };
    for (const nonceExtnValue of [null, Uint8Array.of(0x04, 0x01, 0x07), Uint8Array.of(0x07)]) {
      const der = signOcspResponse({ responder, producedAt: new Date(0), answers: [{ certIdDer, status: { kind: 'good' }, thisUpdate: new Date(0), nextUpdate: new Date(1e6) }], nonceExtnValue });
      expect(Buffer.from(der).includes(certIdDer)).toBe(true);
    }
  });
});
