import { CaError } from '../domain/errors.ts';
import type { CertificateTemplate } from '../x509/certificate.ts';

/**
 * Checks a prepared template against the certificate rules before anything is signed.
 * A failure here is a bug in the CA, not in the request: it is reported as internal.
 */
export function lintTemplate(t: CertificateTemplate, issuer: { issuerNotBefore: Date; issuerNotAfter: Date }): void {
  const problems: string[] = [];
  const serial = Buffer.from(t.serial, 'hex');
  if (serial.length === 0 || serial.length > 20) problems.push('serial must be 1-20 octets');
  if ((serial[0]! & 0x80) !== 0) problems.push('serial must be positive');
  if (serial.length > 1 && serial[0] === 0 && (serial[1]! & 0x80) === 0) problems.push('serial has a superfluous leading zero');
  if (t.notAfter <= t.notBefore) problems.push('notAfter must be after notBefore');
  if (t.notAfter > issuer.issuerNotAfter) problems.push("notAfter is beyond the issuer's notAfter");
  if (t.notBefore < issuer.issuerNotBefore) problems.push("notBefore is before the issuer's notBefore");
  const types = t.extensions.map((e) => e.extnID);
  if (new Set(types).size !== types.length) problems.push('an extension appears twice');
  for (const required of ['2.5.29.19', '2.5.29.15', '2.5.29.17', '2.5.29.14', '2.5.29.35']) {
    if (!types.includes(required)) problems.push(`extension ${required} is missing`);
  }
  if (problems.length) throw new CaError('internal', `certificate template failed lint: ${problems.join('; ')}`);
}
