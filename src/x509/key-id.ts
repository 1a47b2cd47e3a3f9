import { createHash, X509Certificate } from 'node:crypto';
import { readTlv } from '../domain/der.ts';

/**
 * A key identifier as RFC 5280 §4.2.1.2 method (1) defines it: the SHA-1 of the subjectPublicKey
 * BIT STRING's value (no tag, length or unused-bits octet), as lowercase hex. Read with the strict
 * DER reader, not @peculiar/asn1: `pki revoke` needs the issuer's key id and nothing else of X.509,
 * and loading that library is a fifth of its start beside a busy server (#21).
 */
export function keyIdentifier(spki: Uint8Array): string {
  const info = readTlv(spki, 0, spki.length);
  const algorithm = info?.tag === 0x30 ? readTlv(spki, info.start, info.end) : null;
  const key = algorithm?.tag === 0x30 ? readTlv(spki, algorithm.end, info!.end) : null;
  if (!key || key.tag !== 0x03 || key.end <= key.start || key.end !== info!.end || info!.end !== spki.length) throw new Error('not a DER SubjectPublicKeyInfo');
  return createHash('sha1').update(spki.subarray(key.start + 1, key.end)).digest('hex');
}

/** The key identifier of a certificate's public key (PEM or DER), parsed by Node's own X.509 reader. */
export function certificateKeyId(certificate: Uint8Array | string): string {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return keyIdentifier(new Uint8Array(spki.buffer, spki.byteOffset, spki.byteLength));
}
