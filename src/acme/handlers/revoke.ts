import type { JWK } from 'jose';
import { createPublicKey } from 'node:crypto';
import { REVOCATION_REASONS, type RevocationReason } from '../../domain/types.ts';
import { x509 } from '../../x509/x509.ts';
import { normalizeSerial } from '../../x509/serial.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { badRevocationReason, malformed, notFound, unauthorized } from '../problems.ts';
import type { VerifiedRequest } from '../request.ts';

/**
 * Reasons a subscriber may give (§7.6, RFC 5280 §5.3.1): not certificateHold (6,
 * revocation here is final), not cACompromise/aACompromise (2, 10: the CA's call),
 * and never 7 (unused) or 8 (removeFromCRL, delta CRLs only).
 */
const SUBSCRIBER_REASONS = new Map<number, RevocationReason>(
  (Object.entries(REVOCATION_REASONS) as [RevocationReason, number][]).filter(([, code]) => ![2, 6, 10].includes(code)).map(([name, code]) => [code, name]),
);

/** POST revokeCert (§7.6): by the account that ordered the certificate, or signed with the certificate's own key. */
export async function revokeCertificate(ctx: AcmeContext, req: VerifiedRequest): Promise<AcmeReply> {
  const p = req.payload;
  if (!p || typeof p.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(p.certificate)) throw malformed('"certificate" must be the base64url DER of the certificate');
  const reasonCode = p.reason === undefined ? 0 : p.reason;
  const reason = typeof reasonCode === 'number' ? SUBSCRIBER_REASONS.get(reasonCode) : undefined;
  if (reason === undefined) throw badRevocationReason(`revocation reason ${JSON.stringify(reasonCode)} is not accepted (allowed: ${[...SUBSCRIBER_REASONS.keys()].join(', ')})`);

  const der = new Uint8Array(Buffer.from(p.certificate, 'base64url'));
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    throw malformed('"certificate" is not a DER certificate');
  }
  const serial = normalizeSerial(cert.serialNumber);
  const record = ctx.certificates.get(serial);
  if (!record?.der || record.issuer !== ctx.authority.issuer.keyId || !Buffer.from(record.der).equals(Buffer.from(der))) {
    throw notFound('this CA did not issue that certificate');
  }

  let actor: string;
  if (req.account) {
    if (ctx.store.orders.orderByCertificate(serial)?.accountId !== req.account.id) throw unauthorized('the certificate was not issued to this account');
    actor = `acme:${req.account.id}`;
  } else {
    const signing = createPublicKey({ key: req.jwk as JWK, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    if (!signing.equals(Buffer.from(cert.publicKey.rawData))) throw unauthorized('the request is signed neither by the owning account nor by the certificate key');
    actor = 'acme:certificate-key';
  }
  await ctx.authority.revoke(serial, { reason, actor });
  ctx.logger.info('acme.certificate.revoked', { serial, reason, actor });
  return { status: 200 };
}
