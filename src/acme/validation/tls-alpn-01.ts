import { connect } from 'node:tls';
import { reverseName } from '../../domain/ip.ts';
import { x509 } from '../../x509/x509.ts';
import { connection, incorrectResponse, tlsProblem } from '../problems.ts';
import { addressOf } from './resolve.ts';
import { keyAuthorizationDigest, NetworkValidator, type ValidationRequest } from './validator.ts';

/** id-pe-acmeIdentifier (RFC 8737 §6.1). */
export const OID_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';

/** RFC 8738 §6: for an IP identifier the SNI is its reverse-DNS name. */
export { reverseName };

/**
 * tls-alpn-01 (RFC 8737 §3): a TLS handshake offering only ALPN "acme-tls/1"; the
 * certificate must name exactly the identifier and carry a critical acmeIdentifier
 * extension whose value is the SHA-256 of the key authorization.
 */
export class TlsAlpn01Validator extends NetworkValidator {
  readonly type = 'tls-alpn-01';
  async validate(r: ValidationRequest): Promise<void> {
    const address = await addressOf(r.identifier, this.resolver, !this.settings.dnsServer);
    const servername = r.identifier.type === 'ip' ? reverseName(r.identifier.value) : r.identifier.value;
    const der = await new Promise<Uint8Array>((resolve, reject) => {
      const socket = connect({ host: address, port: this.settings.tlsAlpn01Port, servername, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, timeout: this.settings.timeoutMs });
      socket.once('secureConnect', () => {
        const proto = socket.alpnProtocol;
        const cert = socket.getPeerX509Certificate();
        socket.destroy();
        if (proto !== 'acme-tls/1') return reject(tlsProblem(`tls-alpn-01: the server did not negotiate acme-tls/1 (got ${proto || 'none'})`));
        if (!cert) return reject(tlsProblem('tls-alpn-01: the server presented no certificate'));
        resolve(new Uint8Array(cert.raw));
      });
      socket.once('timeout', () => socket.destroy(new Error('timed out')));
      socket.once('error', (e) => reject(connection(`tls-alpn-01: cannot complete a handshake with ${r.identifier.value}: ${e.message}`)));
    });
    checkChallengeCertificate(der, r);
  }
}

/** The certificate checks of RFC 8737 §3, separate so they can be tested on crafted certificates. */
export function checkChallengeCertificate(der: Uint8Array, r: ValidationRequest): void {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
  } catch {
    throw tlsProblem('tls-alpn-01: the certificate cannot be parsed');
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const want = r.identifier.type === 'ip' ? 'ip' : 'dns';
  if (names.length !== 1 || names[0]!.type !== want || names[0]!.value.toLowerCase() !== r.identifier.value) {
    throw incorrectResponse(`tls-alpn-01: the certificate must name exactly ${r.identifier.value}`);
  }
  const ext = cert.extensions.find((e) => e.type === OID_ACME_IDENTIFIER);
  if (!ext || !ext.critical) throw incorrectResponse('tls-alpn-01: the certificate has no critical acmeIdentifier extension');
  const value = Buffer.from(ext.value);
  const digest = keyAuthorizationDigest(r.keyAuthorization);
  // extnValue is a DER OCTET STRING of 32 octets: 04 20 || SHA-256(key authorization).
  if (value.length !== 34 || value[0] !== 0x04 || value[1] !== 0x20 || !value.subarray(2).equals(digest)) {
    throw incorrectResponse('tls-alpn-01: the acmeIdentifier extension does not match the key authorization');
  }
}
