import { CaError } from '../domain/errors.ts';
import { fromPem } from '../x509/x509.ts';
import { checkRevocation } from './revocation-check.ts';

/**
 * Asks the OCSP responder named in the certificate's AIA (and the CRL in its CDP) whether
 * it was revoked; both answers are authenticated against the issuer in `chainPem`.
 * When neither source can answer it throws (`unavailable`, naming each URL and why) rather
 * than answer "not revoked": the caller decides what an unchecked certificate means.
 */
export async function isRevoked(certPem: string, chainPem: string): Promise<boolean> {
  return (await revocationStatus(certPem, chainPem)).revoked;
}

/** isRevoked with the answer's nextUpdate (OCSP, else the CRL), so a good verdict can be reused until then (#19). */
export async function revocationStatus(certPem: string, chainPem: string): Promise<RevocationAnswer> {
  const [certDer] = fromPem(certPem, 'CERTIFICATE');
  const [issuerDer] = fromPem(chainPem, 'CERTIFICATE');
  if (!certDer) throw new CaError('malformed', 'cannot check revocation: cert.pem holds no certificate');
  if (!issuerDer) throw new CaError('malformed', 'cannot check revocation: chain.pem holds no issuer certificate');
  const r = await checkRevocation({ certDer, issuerDer, timeoutMs: 5_000, names: { cert: 'cert.pem', issuer: 'chain.pem' } });
  if (r.verdict === 'unchecked') throw new CaError('unavailable', `could not check revocation (${r.uncheckedBecause})`);
  const good = [r.ocsp, r.crl].filter((x) => x.status === 'good');
  const nextUpdate = good.map((x) => x.nextUpdate).find((d): d is Date => d instanceof Date) ?? null;
  return { revoked: r.verdict === 'revoked', nextUpdate };
}

export interface RevocationAnswer {
  revoked: boolean;
  /** When the source that said good publishes its next answer (null: not said). */
  nextUpdate: Date | null;
}
