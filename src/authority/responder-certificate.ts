import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import type { KeyAlg } from '../domain/algorithms.ts';
import { asnExtensions, keyIdentifier, type CertificateTemplate } from '../x509/certificate.ts';
import { generateSerial } from '../x509/serial.ts';
import { x509 } from '../x509/x509.ts';
import type { IssuanceRequest } from './issuance.ts';
import { REQUIRED_EXTENSIONS } from './lint.ts';
import { validityFor } from './validity.ts';

const OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

/** What a responder needs to sign: its certificate, its key hash (ResponderID byKey) and a synchronous signer. */
export interface ResponderKey {
  serial: string;
  certDer: Uint8Array;
  /** SHA-1 of the responder public key's BIT STRING contents (RFC 6960 §4.2.1 ResponderID byKey). */
  keyHash: Uint8Array;
  alg: KeyAlg;
  notAfter: Date;
  sign(tbs: Uint8Array): Uint8Array;
}

/**
 * A delegated OCSP signing certificate (RFC 6960 §4.2.2.2) to be issued: EKU id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck (relying parties do not ask about the responder itself, so it must be
 * short-lived). Its P-256 key is made here and lives only in this process's memory: the
 * intermediate key (maybe in an HSM) signs once per rotation instead of once per response.
 * Returns the issuance request and, once the certificate is signed, the responder key.
 */
export function prepareResponder(issuer: { certificate: x509.X509Certificate; keyId: string }, nowMs: number, lifetimeMs: number): {
  request: IssuanceRequest;
  responderKey(certDer: Uint8Array): ResponderKey;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const { notBefore, notAfter } = validityFor(nowMs, lifetimeMs, issuer.certificate);
  const serial = generateSerial();
  const cn = `${issuer.certificate.subjectName.getField('CN')[0] ?? 'CA'} OCSP Responder`;
  const template: CertificateTemplate = {
    serial,
    issuerName: new Uint8Array(issuer.certificate.subjectName.toArrayBuffer()),
    subjectName: new Uint8Array(new x509.Name([{ CN: [cn] }]).toArrayBuffer()),
    notBefore,
    notAfter,
    publicKeySpki: spki,
    extensions: asnExtensions([
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning], false),
      new x509.Extension(OCSP_NOCHECK, false, Uint8Array.of(0x05, 0x00)),
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki)),
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
    ]),
  };
  const request: IssuanceRequest = {
    template,
    issuerKeyId: issuer.keyId,
    issuerValidity: issuer.certificate,
    required: REQUIRED_EXTENSIONS.ocspResponder,
    subject: cn,
    sans: [],
    profile: 'ocsp-responder',
    actor: 'system',
    event: { action: 'ocsp.responder.issued', details: { notAfter: notAfter.toISOString() } },
    alsoRecord: (store) => store.ocspResponders.add({ serial, issuer: issuer.keyId, notBefore, notAfter, createdAt: new Date(nowMs) }),
  };
  return {
    request,
    responderKey: (certDer) => ({
      serial,
      certDer,
      // The SKI (method 1) is exactly RFC 6960's KeyHash: SHA-1 of the BIT STRING contents.
      keyHash: Buffer.from(keyIdentifier(spki), 'hex'),
      alg: 'ecdsa-p256',
      notAfter,
      sign: (tbs) => new Uint8Array(nodeSign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })),
    }),
  };
}
