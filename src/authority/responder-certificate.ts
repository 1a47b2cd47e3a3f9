import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import type { Issuer } from './authority.ts';
import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { asnExtensions, keyIdentifier, signCertificate, type CertificateTemplate } from '../x509/certificate.ts';
import { generateSerial } from '../x509/serial.ts';
import { x509 } from '../x509/x509.ts';
import type { Store } from '../store/store.ts';
import type { ResponderKey } from '../status/ocsp-response.ts';

const OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
const CLOCK_SKEW_MS = 60_000;

/**
 * Issues a delegated OCSP signing certificate (RFC 6960 §4.2.2.2): EKU id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck (relying parties do not ask about the responder itself, so it must
 * be short-lived), signed once by the intermediate. Its P-256 key is made here and lives
 * only in this process's memory: the intermediate key (maybe in an HSM) signs once per
 * rotation instead of once per response. The certificate is recorded like any other
 * (reserve → sign → valid, with an audit row).
 */
export async function issueResponder(p: { store: Store; issuer: Issuer; clock: Clock; lifetimeMs: number }): Promise<ResponderKey> {
  const { store, issuer, clock } = p;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const now = clock.now().getTime();
  const notBefore = new Date(Math.max(Math.floor((now - CLOCK_SKEW_MS) / 1000) * 1000, issuer.certificate.notBefore.getTime()));
  const notAfter = new Date(Math.min(Math.floor((now + p.lifetimeMs) / 1000) * 1000, issuer.certificate.notAfter.getTime()));
  const serial = generateSerial();
  const issuerCn = issuer.certificate.subjectName.getField('CN')[0] ?? 'CA';
  const subject = new x509.Name([{ CN: [`${issuerCn} OCSP Responder`] }]);
  const template: CertificateTemplate = {
    serial,
    issuerName: new Uint8Array(issuer.certificate.subjectName.toArrayBuffer()),
    subjectName: new Uint8Array(subject.toArrayBuffer()),
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
  const at = clock.now();
  store.transaction(() =>
    store.certificates.reserve({
      serial,
      issuer: issuer.keyId,
      subject: subject.getField('CN')[0] ?? '',
      sans: [],
      profile: 'ocsp-responder',
      notBefore,
      notAfter,
      publicKeySha256: createHash('sha256').update(spki).digest('hex'),
      now: at,
    }),
  );
  let certDer: Uint8Array;
  try {
    certDer = await signCertificate(template, issuer.signer);
  } catch (e) {
    store.transaction(() => store.certificates.markFailed(serial));
    throw e instanceof CaError ? e : new CaError('keyStore', 'signing the OCSP responder certificate failed', { cause: e });
  }
  store.transaction(() => {
    store.certificates.markValid(serial, certDer);
    store.ocspResponders.add({ serial, issuer: issuer.keyId, notBefore, notAfter, createdAt: at });
    store.audit.append({ at, action: 'ocsp.responder.issued', actor: 'system', target: serial, details: { notAfter: notAfter.toISOString() } });
  });
  return {
    serial,
    certDer,
    // The SKI (method 1) is exactly RFC 6960's KeyHash: SHA-1 of the BIT STRING contents.
    keyHash: Buffer.from(keyIdentifier(spki), 'hex'),
    alg: 'ecdsa-p256',
    notAfter,
    sign: (tbs) => new Uint8Array(nodeSign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })),
  };
}
