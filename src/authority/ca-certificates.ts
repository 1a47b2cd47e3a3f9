import type { Clock } from '../domain/clock.ts';
import type { Signer } from '../domain/signer.ts';
import { caExtensions } from './profiles.ts';
import { sha256Hex } from '../domain/hash.ts';
import { asnExtensions, keyIdentifier, signCertificate, type CertificateTemplate } from '../x509/certificate.ts';
import { generateSerial } from '../x509/serial.ts';
import { x509 } from '../x509/x509.ts';
import type { Store } from '../store/store.ts';

/**
 * Signs a CA certificate (the self-signed root, or the intermediate under it),
 * recording it in the store the same way leaves are: reserved, signed once, stored.
 */
export async function issueCaCertificate(p: {
  store: Store;
  clock: Clock;
  subjectName: string;
  subjectSpki: Uint8Array;
  lifetimeMs: number;
  /** Absent for a self-signed root. */
  issuer?: { certificate: x509.X509Certificate; keyId: string };
  signer: Signer;
  pathLength?: number;
  profile: 'root' | 'intermediate';
}): Promise<x509.X509Certificate> {
  const now = p.clock.now().getTime();
  const subjectKeyId = keyIdentifier(p.subjectSpki);
  const subjectName = new Uint8Array(new x509.Name(p.subjectName).toArrayBuffer());
  const notBefore = new Date(Math.floor((now - 60_000) / 1000) * 1000);
  let notAfter = new Date(Math.floor((now + p.lifetimeMs) / 1000) * 1000);
  if (p.issuer && notAfter > p.issuer.certificate.notAfter) notAfter = p.issuer.certificate.notAfter;
  const tpl: CertificateTemplate = {
    serial: generateSerial(),
    issuerName: p.issuer ? new Uint8Array(p.issuer.certificate.subjectName.toArrayBuffer()) : subjectName,
    subjectName,
    notBefore,
    notAfter,
    publicKeySpki: p.subjectSpki,
    extensions: asnExtensions(caExtensions({ pathLength: p.pathLength, subjectKeyId, authorityKeyId: p.issuer?.keyId })),
  };
  const issuerKeyId = p.issuer?.keyId ?? subjectKeyId;
  p.store.transaction(() =>
    p.store.certificates.reserve({
      serial: tpl.serial,
      issuer: issuerKeyId,
      subject: p.subjectName,
      sans: [],
      profile: p.profile,
      notBefore,
      notAfter,
      publicKeySha256: sha256Hex(p.subjectSpki),
      now: new Date(now),
    }),
  );
  const der = await signCertificate(tpl, p.signer);
  p.store.transaction(() => {
    p.store.certificates.markValid(tpl.serial, der);
    p.store.audit.append({ at: new Date(now), action: 'certificate.issued', actor: 'cli', target: tpl.serial, details: { profile: p.profile, subject: p.subjectName } });
  });
  return new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
}
