import { X509Certificate } from 'node:crypto';
import { sha256Hex } from '../domain/hash.ts';
import { formatDuration } from '../domain/duration.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import { reasonNameOf, type CertRecord } from '../domain/types.ts';
import type { CsrInfo } from '../x509/csr.ts';
import type { EstContext } from './context.ts';
import { asEstError, csrIdentifiers } from './csr.ts';
import { EstError, estForbidden, estUnauthorized } from './errors.ts';

/** How a renewing client proves itself: the TLS client certificate, not an HTTP scheme. */
const PRESENT_CERT = { 'WWW-Authenticate': 'Basic realm="pki EST: simplereenroll authenticates with the TLS client certificate being renewed"' };

/**
 * The certificate being renewed, from the TLS handshake (which proved its key): it must carry our
 * intermediate's signature, be in the inventory byte for byte, be valid now and not revoked, and
 * its lineage must be younger than renewal.maxLineage. Each refusal says which.
 */
export function currentCertificate(ctx: EstContext, peerDer: Uint8Array | null, now: Date): { record: CertRecord; cert: X509Certificate; lineageStart: Date } {
  if (!peerDer) throw estUnauthorized('simplereenroll needs the certificate being renewed as the TLS client certificate (RFC 7030 §4.2.2); none was presented', PRESENT_CERT);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peerDer);
  } catch {
    throw estUnauthorized('the TLS client certificate cannot be read', PRESENT_CERT);
  }
  const foreign = () => estUnauthorized(`the TLS client certificate (${cert.subject.replace(/\n/g, ', ')}, issuer ${cert.issuer.replace(/\n/g, ', ')}) was not issued by this CA`, PRESENT_CERT);
  if (!cert.checkIssued(ctx.intermediate) || !cert.verify(ctx.intermediate.publicKey)) throw foreign();
  const serial = cert.serialNumber.toLowerCase();
  const record = ctx.store.certificates.get(serial);
  if (!record || record.issuer !== ctx.authority.issuer.keyId || !record.der || !Buffer.from(record.der).equals(Buffer.from(peerDer))) throw foreign();
  if (record.status === 'revoked') {
    throw estForbidden('revoked', `certificate ${serial} was revoked at ${record.revokedAt?.toISOString()} (reason ${reasonNameOf(record.reason)}): it cannot be renewed; enroll afresh`);
  }
  if (record.status !== 'valid') throw estForbidden('notValid', `certificate ${serial} is ${record.status}`);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) throw estForbidden('notYetValid', `certificate ${serial} is not valid before ${notBefore.toISOString()}`);
  if (now >= notAfter) throw estForbidden('expired', `certificate ${serial} expired at ${notAfter.toISOString()}: renewal needs a valid certificate; enroll afresh`);
  const lineageStart = ctx.store.lineage.get(serial)?.start ?? record.createdAt;
  if (now.getTime() - lineageStart.getTime() > ctx.settings.maxLineageMs) {
    throw estForbidden(
      'lineageExceeded',
      `certificate ${serial} continues renewals begun at ${lineageStart.toISOString()}, longer ago than renewal.maxLineage (${formatDuration(ctx.settings.maxLineageMs)}): a fresh enrollment is required`,
    );
  }
  return { record, cert, lineageStart };
}

/**
 * RFC 7030 §4.2.2: the CSR's Subject and SubjectAltName must be identical to the certificate's,
 * and (unless renewal.allowSameKey) the key must be new.
 */
export function checkRenewalCsr(ctx: EstContext, info: CsrInfo, current: { record: CertRecord; cert: X509Certificate }): void {
  const serial = current.record.serial;
  const asked = canonicalSet(csrIdentifiers(info));
  const held = canonicalSet(current.record.sans.map(parseIdentifier));
  if ((info.commonName ?? '') !== current.record.subject || asked.join(' ') !== held.join(' ')) {
    throw estForbidden(
      'namesDiffer',
      `a renewal keeps the certificate's names exactly (RFC 7030 §4.2.2): certificate ${serial} has CN "${current.record.subject}" and ${held.join(', ')}; the CSR asks for CN "${info.commonName ?? ''}" and ${asked.join(', ') || 'no names'}`,
    );
  }
  const currentKey = sha256Hex(new Uint8Array(current.cert.publicKey.export({ type: 'spki', format: 'der' })));
  if (!ctx.settings.allowSameKey && sha256Hex(info.publicKeySpki) === currentKey) {
    throw estForbidden('sameKey', `the CSR reuses the key of certificate ${serial}: renew with a new key (renewal.allowSameKey is off)`);
  }
}

/** simplereenroll: a new certificate for exactly the current one's names, recording the one it replaces. */
export async function reenroll(ctx: EstContext, peerDer: Uint8Array | null, readCsr: () => Promise<CsrInfo>): Promise<{ serial: string; der: Uint8Array; replaces: string }> {
  const now = ctx.clock.now();
  const current = currentCertificate(ctx, peerDer, now);
  const info = await readCsr();
  checkRenewalCsr(ctx, info, current);
  const { record, lineageStart } = current;
  try {
    const issued = await ctx.authority.issue(info.der, {
      profile: record.profile,
      identifiers: record.sans.map(parseIdentifier),
      actor: `est:renew:${record.serial}`,
      renewal: { replaces: record.serial, lineageStart },
    });
    return { ...issued, replaces: record.serial };
  } catch (e) {
    throw asEstError(e);
  }
}

export { EstError };
