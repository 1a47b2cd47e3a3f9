import * as asn1X509 from '@peculiar/asn1-x509';
import type { Identifier } from '../domain/types.ts';
import { ipOctetsOf } from '../domain/ip.ts';
import { CaError } from '../domain/errors.ts';
import { derOid, derTlv } from '../domain/der.ts';
import { encodedExtension, encodedExtensions, type EncodedExtension } from '../x509/certificate.ts';
import { x509 } from '../x509/x509.ts';
import { OID_TLS_FEATURE } from '../x509/csr-extensions.ts';

/** Leaf profiles the authority can apply. Lifetimes are defaults; each has a ceiling. */
export interface LeafProfile {
  name: string;
  description: string;
  maxLifetimeMs: number;
  eku: string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const LEAF_PROFILES: Record<string, LeafProfile> = {
  default: {
    name: 'default',
    description: '24 h, serverAuth + clientAuth (mutual TLS)',
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  },
  server: {
    name: 'server',
    description: '24 h, serverAuth only',
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.serverAuth],
  },
  client: {
    name: 'client',
    description: '24 h, clientAuth only',
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.clientAuth],
  },
};

/** The URLs every issued certificate names (AIA and CDP), all on the plain-HTTP base URL. */
export interface IssuerUrls {
  ocsp: string;
  caIssuers: string;
  /** CRL for a given shard. */
  crl(shard: number): string;
}

export function issuerUrls(baseUrl: string, issuerId: string): IssuerUrls {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    ocsp: `${base}/ocsp`,
    caIssuers: `${base}/ca/intermediate.crt`,
    crl: (shard) => `${base}/crl/${issuerId}/${shard}.crl`,
  };
}

/**
 * Extensions of a leaf per STANDARDS.md; keyEncipherment only for RSA keys (TLS 1.2 RSA key exchange).
 * Everything but SAN and SKI depends only on the issuer, the profile, the key type and the CRL
 * shard: encoded once (by @peculiar/x509's classes) and reused as bytes. SAN and SKI are encoded
 * per leaf directly as DER.
 */
export class LeafExtensionBuilder {
  readonly #issuerParts: EncodedExtension[];
  readonly #cdp = new Map<number, EncodedExtension>();
  readonly #fixed = new Map<string, EncodedExtension[]>();
  readonly #urls: IssuerUrls;

  constructor(p: { authorityKeyId: string; urls: IssuerUrls }) {
    this.#urls = p.urls;
    this.#issuerParts = encodedExtensions([
      new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId),
      new x509.AuthorityInfoAccessExtension({ ocsp: [p.urls.ocsp], caIssuers: [p.urls.caIssuers] }),
    ]);
  }

  build(p: { profile: LeafProfile; sans: Identifier[]; subjectKeyId: string; isRsa: boolean; crlShard: number; subjectIsEmpty: boolean; tlsFeature?: Uint8Array | null }): EncodedExtension[] {
    const exts = [
      ...this.#fixedFor(p.profile, p.isRsa),
      // RFC 5280 §4.2.1.6: SAN is critical when the subject is empty.
      encodedExtension(asn1X509.id_ce_subjectAltName, p.subjectIsEmpty, derTlv(0x30, ...p.sans.map(generalNameDer)), OID_SAN),
      encodedExtension(asn1X509.id_ce_subjectKeyIdentifier, false, derTlv(0x04, Buffer.from(p.subjectKeyId, 'hex')), OID_SKI),
      ...this.#issuerParts,
      this.#cdpFor(p.crlShard),
    ];
    // RFC 7633 must-staple, as the CSR asked for it (csr-extensions.ts checked it): non-critical, its value unchanged.
    if (p.tlsFeature) exts.push(encodedExtension(OID_TLS_FEATURE, false, p.tlsFeature, OID_TLS_FEATURE_DER));
    return exts;
  }

  #fixedFor(profile: LeafProfile, isRsa: boolean): EncodedExtension[] {
    const key = `${profile.name}/${isRsa}`;
    let fixed = this.#fixed.get(key);
    if (!fixed) {
      const usage = leafKeyUsage(isRsa).reduce((flags, name) => flags | x509.KeyUsageFlags[name], 0);
      fixed = encodedExtensions([
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        new x509.ExtendedKeyUsageExtension(profile.eku, false),
      ]);
      this.#fixed.set(key, fixed);
    }
    return fixed;
  }

  #cdpFor(shard: number): EncodedExtension {
    let cdp = this.#cdp.get(shard);
    if (!cdp) {
      cdp = encodedExtensions([new x509.CRLDistributionPointsExtension([this.#urls.crl(shard)])])[0]!;
      this.#cdp.set(shard, cdp);
    }
    return cdp;
  }
}

/** A leaf's keyUsage (RFC 5280 §4.2.1.3 names): digitalSignature, and keyEncipherment for RSA keys (TLS 1.2 RSA key exchange). */
export function leafKeyUsage(isRsa: boolean): ('digitalSignature' | 'keyEncipherment')[] {
  return isRsa ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'];
}

const OID_TLS_FEATURE_DER = derOid(OID_TLS_FEATURE);
const OID_SAN = derOid(asn1X509.id_ce_subjectAltName);
const OID_SKI = derOid(asn1X509.id_ce_subjectKeyIdentifier);

/** GeneralName: dNSName [2] and uniformResourceIdentifier [6] as IA5String text, iPAddress [7] as the address octets. */
export function generalNameDer(s: Identifier): Uint8Array {
  if (s.type === 'dns') return derTlv(0x82, Buffer.from(s.value, 'utf8'));
  if (s.type === 'ip') return derTlv(0x87, ipOctets(s.value));
  return derTlv(0x86, Buffer.from(s.value, 'utf8'));
}

/** Octets of a textual IPv4 or IPv6 address (checkIdentifier has checked the text; domain/ip.ts reads it). */
export function ipOctets(text: string): Uint8Array {
  const octets = ipOctetsOf(text);
  if (!octets) throw new CaError('malformed', `"${text}" is not an IP address`);
  return octets;
}

/** Extensions of a CA certificate: root (no pathLen) or intermediate (pathLen 0, and its name constraints' DER if any). */
export function caExtensions(p: { pathLength?: number; subjectKeyId: string; authorityKeyId?: string; nameConstraints?: Uint8Array }): x509.Extension[] {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, p.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectKeyIdentifierExtension(p.subjectKeyId),
  ];
  if (p.authorityKeyId) exts.push(new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId));
  // RFC 5280 §4.2.1.10: conforming CAs MUST mark nameConstraints critical.
  if (p.nameConstraints) exts.push(new x509.Extension('2.5.29.30', true, p.nameConstraints as Uint8Array<ArrayBuffer>));
  return exts;
}
