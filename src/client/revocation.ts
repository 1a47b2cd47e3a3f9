import { checkRevocation } from './revocation-check.ts';
import { fromPem } from '../x509/x509.ts';

/**
 * Asks the OCSP responder named in the certificate's AIA (and the CRL in its CDP) whether
 * it was revoked; both answers are authenticated against the issuer in `chainPem`.
 * Unreachable sources count as "not known to be revoked".
 */
export async function isRevoked(certPem: string, chainPem: string): Promise<boolean> {
  const [certDer] = fromPem(certPem, 'CERTIFICATE');
  const [issuerDer] = fromPem(chainPem, 'CERTIFICATE');
  if (!certDer || !issuerDer) return false;
  const r = await checkRevocation({ certDer, issuerDer, timeoutMs: 5_000 });
  return r.ocsp.status === 'revoked' || r.crl.status === 'revoked';
}
