import { randomBytes, X509Certificate } from 'node:crypto';

/** Octets of randomness per serial: 16 octets, 126 bits of CSPRNG output after fixing the top two bits. */
const SERIAL_OCTETS = 16;

/**
 * A certificate serial number per RFC 5280 §4.1.2.2 and the CA/B BRs: positive,
 * at most 20 octets, at least 64 bits from a CSPRNG. The top bit is cleared (positive
 * in DER's two's complement) and the next one set, so the encoding is always exactly
 * 16 octets with no leading zero octet to strip. Returned as lowercase hex.
 */
export function generateSerial(): string {
  const b = randomBytes(SERIAL_OCTETS);
  b[0] = (b[0]! & 0x7f) | 0x40;
  return b.toString('hex');
}

/** Normalises an operator-typed serial (`0A:1b…`, `0x…`) to our lowercase hex without leading zero octets. */
export function normalizeSerial(text: string): string {
  let hex = text.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`invalid serial "${text}": expected hexadecimal`);
  if (hex.length % 2) hex = '0' + hex;
  // Keep one zero octet only where it is needed to stay positive in DER.
  while (hex.length > 2 && hex.startsWith('00') && parseInt(hex.slice(2, 4), 16) < 0x80) hex = hex.slice(2);
  return hex;
}

/**
 * The serial of a certificate given as PEM or DER bytes (normalised as the store keeps it); throws
 * on anything else. Node's own reader, not @peculiar/x509, so `pki revoke --cert` loads no X.509
 * library (#21). It gives the INTEGER's value as hex (OpenSSL's BN_bn2hex, as `openssl x509
 * -serial` prints it, and as @peculiar/x509 gave it: no sign octet); a negative one, which RFC 5280
 * §4.1.2.2 forbids and this CA never issues, is refused rather than guessed at.
 */
export function serialOfCertificate(data: Uint8Array): string {
  const value = new X509Certificate(data).serialNumber;
  if (value.startsWith('-')) throw new Error(`negative serial number -${value.slice(1).toLowerCase()} (RFC 5280 §4.1.2.2 requires a positive one)`);
  return normalizeSerial(value);
}
