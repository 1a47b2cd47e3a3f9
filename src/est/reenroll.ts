import { X509Certificate } from 'node:crypto';
import { sha256Hex } from '../domain/hash.ts';
import { formatDuration } from '../domain/duration.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import { reasonNameOf, type CertRecord } from '../domain/types.ts';
import { readTlv, serialHexOf } from '../domain/der.ts';
import type { Lineage } from '../store/certificate-lineage.ts';
import type { EstContext } from './context.ts';
import { asEstError, csrIdentifiers, type EstCsr } from './csr.ts';
import { EstError, estForbidden, estUnauthorized } from './errors.ts';

/** How a renewing client proves itself: the TLS client certificate, not an HTTP scheme. */
const PRESENT_CERT = { 'WWW-Authenticate': 'Basic realm="pki EST: simplereenroll authenticates with the TLS client certificate being renewed"' };

/** The serial (lowercase hex, as the store keys it) of a DER certificate, read without parsing the rest; null when it is not one. */
function serialOf(der: Uint8Array): string | null {
  const cert = readTlv(der, 0, der.length);
  const tbs = cert?.tag === 0x30 ? readTlv(der, cert.start, cert.end) : null;
  let at = tbs?.tag === 0x30 ? readTlv(der, tbs.start, tbs.end) : null;
  if (at?.tag === 0xa0) at = readTlv(der, at.end, tbs!.end); // [0] version
  return at?.tag === 0x02 ? serialHexOf(der.subarray(at.start, at.end)) : null;
}

/** "was not issued by this CA", naming what the client presented when it can be read. */
function foreign(der: Uint8Array): EstError {
  let what = 'the TLS client certificate';
  try {
    const c = new X509Certificate(der);
    what += ` (${c.subject.replace(/\n/g, ', ')}, issuer ${c.issuer.replace(/\n/g, ', ')})`;
  } catch {
    what += ' (unreadable)';
  }
  return estUnauthorized(`${what} was not issued by this CA`, PRESENT_CERT);
}

/**
 * The certificate being renewed, from the TLS handshake (which proved its key): it must be, byte
 * for byte, a certificate this CA recorded as issued (so its signature is ours without checking it
 * again), valid now and not revoked, and its lineage must be younger than renewal.maxLineage.
 * Each refusal says which.
 */
export function currentCertificate(ctx: EstContext, peerDer: Uint8Array | null, now: Date): { record: CertRecord; lineage: Lineage } {
  if (!peerDer) throw estUnauthorized('simplereenroll needs the certificate being renewed as the TLS client certificate (RFC 7030 §4.2.2); none was presented', PRESENT_CERT);
  const serial = serialOf(peerDer);
  // The row and its lineage in one read (one primary-key lookup, one read transaction).
  const current = serial === null ? null : ctx.store.lineage.current(serial);
  const record = current?.record;
  // Byte equality, not the serial alone: a certificate re-signed by anyone else may carry one of ours (compared in place, no copies).
  if (!record || record.issuer !== ctx.authority.issuer.keyId || !record.der || Buffer.compare(record.der, peerDer) !== 0) throw foreign(peerDer);
  if (record.status === 'revoked') {
    throw estForbidden('revoked', `certificate ${serial} was revoked at ${record.revokedAt?.toISOString()} (reason ${reasonNameOf(record.reason)}): it cannot be renewed; enroll afresh`);
  }
  if (record.status !== 'valid') throw estForbidden('notValid', `certificate ${serial} is ${record.status}`);
  if (now < record.notBefore) throw estForbidden('notYetValid', `certificate ${serial} is not valid before ${record.notBefore.toISOString()}`);
  if (now >= record.notAfter) throw estForbidden('expired', `certificate ${serial} expired at ${record.notAfter.toISOString()}: renewal needs a valid certificate; enroll afresh`);
  const { lineage } = current!;
  if (now.getTime() - lineage.start.getTime() > ctx.settings.maxLineageMs) {
    throw estForbidden(
      'lineageExceeded',
      `certificate ${serial} continues renewals begun at ${lineage.start.toISOString()}, longer ago than renewal.maxLineage (${formatDuration(ctx.settings.maxLineageMs)}): a fresh enrollment is required`,
    );
  }
  return { record, lineage };
}

/**
 * RFC 7030 §4.2.2: the CSR's Subject and SubjectAltName must be identical to the certificate's,
 * and (unless renewal.allowSameKey) the key must be new.
 */
export function checkRenewalCsr(ctx: EstContext, info: EstCsr, current: { record: CertRecord; lineage: Lineage }): void {
  const serial = current.record.serial;
  const asked = canonicalSet(csrIdentifiers(info));
  const held = canonicalSet(current.record.sans.map(parseIdentifier));
  if ((info.commonName ?? '') !== current.record.subject || asked.join(' ') !== held.join(' ')) {
    throw estForbidden(
      'namesDiffer',
      `a renewal keeps the certificate's names exactly (RFC 7030 §4.2.2): certificate ${serial} has CN "${current.record.subject}" and ${held.join(', ')}; the CSR asks for CN "${info.commonName ?? ''}" and ${asked.join(', ') || 'no names'}`,
    );
  }
  if (!ctx.settings.allowSameKey && sha256Hex(info.publicKeySpki) === current.lineage.publicKeySha256) {
    throw estForbidden('sameKey', `the CSR reuses the key of certificate ${serial}: renew with a new key (renewal.allowSameKey is off)`);
  }
}

/** simplereenroll: a new certificate for exactly the current one's names, recording the one it replaces. */
export async function reenroll(ctx: EstContext, peerDer: Uint8Array | null, readCsr: () => Promise<EstCsr>): Promise<{ serial: string; der: Uint8Array; replaces: string }> {
  const now = ctx.clock.now();
  const current = currentCertificate(ctx, peerDer, now);
  const info = await readCsr();
  checkRenewalCsr(ctx, info, current);
  const { record, lineage } = current;
  try {
    const issued = await ctx.authority.issue(info.der, {
      profile: record.profile,
      identifiers: record.sans.map(parseIdentifier),
      actor: `est:renew:${record.serial}`,
      renewal: { replaces: record.serial, lineageStart: lineage.start },
    });
    return { ...issued, replaces: record.serial };
  } catch (e) {
    throw asEstError(e);
  }
}

export { EstError };
