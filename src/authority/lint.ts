import { CaError } from '../domain/errors.ts';
import type { CertificateTemplate } from '../x509/certificate.ts';
import type { IssuerValidity } from './validity.ts';

/** Extensions each kind of certificate must carry (RFC 5280 §4.2; RFC 6960 §4.2.2.2 for responders). */
export const REQUIRED_EXTENSIONS = {
  /** basicConstraints, keyUsage, subjectAltName, SKI, AKI. */
  leaf: ['2.5.29.19', '2.5.29.15', '2.5.29.17', '2.5.29.14', '2.5.29.35'],
  /** basicConstraints, keyUsage, extKeyUsage (OCSPSigning), SKI, AKI, ocsp-nocheck. */
  ocspResponder: ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.14', '2.5.29.35', '1.3.6.1.5.5.7.48.1.5'],
  /** basicConstraints, keyUsage, SKI (a root has no AKI to point at; an intermediate's is checked as one of `ca`). */
  root: ['2.5.29.19', '2.5.29.15', '2.5.29.14'],
  intermediate: ['2.5.29.19', '2.5.29.15', '2.5.29.14', '2.5.29.35'],
} as const;

/**
 * Checks a prepared template against the certificate rules before anything is signed.
 * A failure here is a bug in the CA, not in the request: it is reported as internal.
 */
export function lintTemplate(t: CertificateTemplate, rules: { issuer: IssuerValidity; required: readonly string[] }): void {
  const problems: string[] = [];
  const serial = Buffer.from(t.serial, 'hex');
  if (serial.length === 0 || serial.length > 20) problems.push('serial must be 1-20 octets');
  if ((serial[0]! & 0x80) !== 0) problems.push('serial must be positive');
  if (serial.length > 1 && serial[0] === 0 && (serial[1]! & 0x80) === 0) problems.push('serial has a superfluous leading zero');
  if (t.notAfter <= t.notBefore) problems.push('notAfter must be after notBefore');
  if (rules.issuer && t.notAfter > rules.issuer.notAfter) problems.push("notAfter is beyond the issuer's notAfter");
  if (rules.issuer && t.notBefore < rules.issuer.notBefore) problems.push("notBefore is before the issuer's notBefore");
  const types = t.extensions.map((e) => e.extnID);
  if (new Set(types).size !== types.length) problems.push('an extension appears twice');
  for (const required of rules.required) {
    if (!types.includes(required)) problems.push(`extension ${required} is missing`);
  }
  if (problems.length) throw new CaError('internal', `certificate template failed lint: ${problems.join('; ')}`);
}
