import { createHash, X509Certificate } from 'node:crypto';
import type { Clock } from '../domain/clock.ts';
import type { CertRecord } from '../domain/types.ts';
import type { CertificateStatus } from '../store/oauth-grants.ts';
import { OAuthError } from './errors.ts';

/** A client authenticated by its pki certificate (RFC 8705 §2.1 tls_client_auth). */
export interface AuthenticatedClient {
  /** The certificate's SPIFFE URI SAN, or else its first DNS name. */
  clientId: string;
  serial: string;
  /** base64url SHA-256 of the certificate DER: the token's cnf.x5t#S256 (RFC 8705 §3.1). */
  thumbprint: string;
  /** When pki issued it (the fresh:D step-up), its profile (profile:P), its notAfter (caps exp). */
  issuedAt: Date;
  profile: string;
  notAfter: Date;
}

/** What client authentication asks of the inventory: a certificate's record by serial (with its DER), and its status alone (every request). */
export interface CertificateLookup {
  record(serial: string): CertRecord | null;
  status(serial: string): CertificateStatus | null;
}

/** What a certificate alone tells, checked once and kept by thumbprint. */
interface Checked {
  serial: string;
  clientId: string;
  thumbprint: string;
}

const MAX_CACHED = 10_000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Authenticates the TLS client certificate: issued by this CA's intermediate (the signature is
 * verified: the listener asks for a certificate but does not check it), in the inventory with the
 * same DER, valid now, and not revoked. The signature check is done once per certificate; the
 * status is read from the store on every request, so a revocation by any process (`pki revoke`)
 * counts at once. Every failure is invalid_client (RFC 6749 §5.2, 401).
 */
export class ClientAuthenticator {
  readonly #issuer: X509Certificate;
  readonly #lookup: CertificateLookup;
  readonly #clock: Clock;
  readonly #checked = new Map<string, Checked>();

  constructor(o: { issuerDer: Uint8Array; lookup: CertificateLookup; clock: Clock }) {
    this.#issuer = new X509Certificate(Buffer.from(o.issuerDer));
    this.#lookup = o.lookup;
    this.#clock = o.clock;
  }

  authenticate(der: Uint8Array | null): AuthenticatedClient {
    if (!der || der.length === 0) throw new OAuthError('invalid_client', 'no client certificate: present your pki certificate in the TLS handshake (RFC 8705 tls_client_auth)');
    const buf = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
    const thumbprint = createHash('sha256').update(buf).digest('base64url');
    const c = this.#checked.get(thumbprint) ?? this.#check(buf, thumbprint);
    const record = this.#lookup.status(c.serial);
    if (!record) throw new OAuthError('invalid_client', `certificate ${c.serial} is not one this CA issued`);
    const now = this.#clock.now().getTime();
    if (record.status === 'revoked') throw new OAuthError('invalid_client', `certificate ${c.serial} is revoked`);
    if (record.status !== 'valid') throw new OAuthError('invalid_client', `certificate ${c.serial} is ${record.status}`);
    if (record.notAfter.getTime() <= now) throw new OAuthError('invalid_client', `certificate ${c.serial} expired at ${record.notAfter.toISOString()}`);
    if (record.notBefore.getTime() > now) throw new OAuthError('invalid_client', `certificate ${c.serial} is not valid before ${record.notBefore.toISOString()}`);
    return { clientId: c.clientId, serial: c.serial, thumbprint, issuedAt: record.createdAt, profile: record.profile, notAfter: record.notAfter };
  }

  #check(buf: Buffer, thumbprint: string): Checked {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(buf);
    } catch {
      throw new OAuthError('invalid_client', 'the client certificate cannot be read');
    }
    if (!cert.checkIssued(this.#issuer) || !cert.verify(this.#issuer.publicKey)) {
      throw new OAuthError('invalid_client', `the client certificate (issuer "${cert.issuer.replace(/\n/g, ', ')}") was not issued by this CA`);
    }
    if (cert.ca) throw new OAuthError('invalid_client', 'a CA certificate is not a client');
    // RFC 5280 §4.2.1.12: a certificate whose EKU leaves out clientAuth (profile "server") is not for TLS clients.
    if (Array.isArray(cert.keyUsage) && !cert.keyUsage.includes(CLIENT_AUTH)) throw new OAuthError('invalid_client', 'the client certificate is not for client authentication (its extended key usage lacks clientAuth)');
    const clientId = clientIdOf(cert.subjectAltName);
    if (!clientId) throw new OAuthError('invalid_client', 'the client certificate names no SPIFFE URI nor DNS name to be the client id');
    const checked = { serial: cert.serialNumber.toLowerCase(), clientId, thumbprint };
    // In the inventory with these very bytes (a certificate signed by the key but never recorded is not ours to trust).
    const record = this.#lookup.record(checked.serial);
    if (!record?.der || !buf.equals(Buffer.from(record.der.buffer, record.der.byteOffset, record.der.byteLength))) {
      throw new OAuthError('invalid_client', `certificate ${checked.serial} is not one this CA issued`);
    }
    if (this.#checked.size >= MAX_CACHED) this.#checked.clear();
    this.#checked.set(thumbprint, checked);
    return checked;
  }
}

/**
 * The client id of a certificate (RFC 8705 §2.1.2 allows any SAN): its SPIFFE ID, or else its
 * first DNS name. Node writes the SAN as "DNS:a, URI:spiffe://…", quoting (JSON) an entry with
 * special characters.
 */
export function clientIdOf(subjectAltName: string | undefined): string | null {
  const entries = [...(subjectAltName ?? '').matchAll(/(?:^|, )(DNS|URI|IP Address|email|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)].map((m) => {
    const raw = m[2]!;
    return { type: m[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw };
  });
  return entries.find((e) => e.type === 'URI' && e.value.startsWith('spiffe://'))?.value ?? entries.find((e) => e.type === 'DNS')?.value ?? null;
}
