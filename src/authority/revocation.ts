import { CaError } from '../domain/errors.ts';
import { reasonNameOf, REVOCATION_REASONS, type CertRecord, type RevocationReason } from '../domain/types.ts';
import type { Store } from '../store/store.ts';

/**
 * Records a revocation (RFC 5280 §5.3.1 reason) durably with its audit event, refusing unknown
 * serials, certificates of another issuer (the CA certificates themselves) and repeats
 * (`alreadyRevoked`). It needs no key: the running `pki serve` signs the OCSP response and the
 * CRL that follow (#21: `pki revoke` no longer unlocks the key store, which cost a KDF run).
 */
export async function recordRevocation(store: Store, issuerKeyId: string, serial: string, at: Date, opts: { reason?: RevocationReason; actor?: string } = {}): Promise<CertRecord> {
  const reasonName = opts.reason ?? 'unspecified';
  const reason = REVOCATION_REASONS[reasonName];
  if (reason === undefined) throw new CaError('malformed', `unknown revocation reason "${reasonName}"`);
  return store.durably(() => {
    const cert = store.certificates.get(serial);
    if (!cert || cert.issuer !== issuerKeyId) throw new CaError('notFound', `no certificate with serial ${serial} was issued by this CA`);
    if (cert.status === 'revoked') {
      throw new CaError('alreadyRevoked', `certificate ${serial} is already revoked (since ${cert.revokedAt?.toISOString()}, reason ${reasonNameOf(cert.reason)})`);
    }
    if (cert.status !== 'valid') throw new CaError('conflict', `certificate ${serial} is ${cert.status}, not valid: nothing to revoke`);
    store.certificates.revoke(serial, at, reason);
    store.audit.append({ at, action: 'certificate.revoked', actor: opts.actor ?? 'system', target: serial, details: { reason: reasonName } });
    return store.certificates.get(serial)!;
  });
}
