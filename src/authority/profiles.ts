import * as asn1X509 from '@peculiar/asn1-x509';
import type { Identifier } from '../domain/types.ts';
import { asnExtension, asnExtensions } from '../signer/certificate.ts';
import { x509 } from '../signer/x509.ts';

/** Leaf profiles the authority can apply. Lifetimes are defaults; each has a ceiling. */
export interface LeafProfile {
  name: string;
  description: string;
  defaultLifetimeMs: number;
  maxLifetimeMs: number;
  eku: string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const LEAF_PROFILES: Record<string, LeafProfile> = {
  default: {
    name: 'default',
    description: '24 h, serverAuth + clientAuth (mutual TLS)',
    defaultLifetimeMs: 24 * HOUR,
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  },
  server: {
    name: 'server',
    description: '24 h, serverAuth only',
    defaultLifetimeMs: 24 * HOUR,
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.serverAuth],
  },
  client: {
    name: 'client',
    description: '24 h, clientAuth only',
    defaultLifetimeMs: 24 * HOUR,
    maxLifetimeMs: 90 * DAY,
    eku: [x509.ExtendedKeyUsage.clientAuth],
  },
};

/** Clock-skew allowance: notBefore is set this far in the past (STANDARDS: at most 1-2 minutes). */
export const BACKDATE_MS = 60_000;

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
 * The parts that depend only on the issuer and profile are built and decoded once and reused
 * (they cost as much to encode as the signature does); SAN and SKI are built per leaf directly
 * as @peculiar/asn1-x509 objects.
 */
export class LeafExtensionBuilder {
  readonly #issuerParts: asn1X509.Extension[];
  readonly #cdp = new Map<number, asn1X509.Extension>();
  readonly #fixed = new Map<string, asn1X509.Extension[]>();
  readonly #urls: IssuerUrls;

  constructor(p: { authorityKeyId: string; urls: IssuerUrls }) {
    this.#urls = p.urls;
    this.#issuerParts = asnExtensions([
      new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId),
      new x509.AuthorityInfoAccessExtension({ ocsp: [p.urls.ocsp], caIssuers: [p.urls.caIssuers] }),
    ]);
  }

  build(p: { profile: LeafProfile; sans: Identifier[]; subjectKeyId: string; isRsa: boolean; crlShard: number; subjectIsEmpty: boolean }): asn1X509.Extension[] {
    const fixedKey = `${p.profile.name}/${p.isRsa}`;
    let fixed = this.#fixed.get(fixedKey);
    if (!fixed) {
      const usage = x509.KeyUsageFlags.digitalSignature | (p.isRsa ? x509.KeyUsageFlags.keyEncipherment : 0);
      fixed = asnExtensions([
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        new x509.ExtendedKeyUsageExtension(p.profile.eku, false),
      ]);
      this.#fixed.set(fixedKey, fixed);
    }
    let cdp = this.#cdp.get(p.crlShard);
    if (!cdp) {
      cdp = asnExtensions([new x509.CRLDistributionPointsExtension([this.#urls.crl(p.crlShard)])])[0]!;
      this.#cdp.set(p.crlShard, cdp);
    }
    const names = new asn1X509.SubjectAlternativeName(p.sans.map(generalName));
    return [
      ...fixed,
      // RFC 5280 §4.2.1.6: SAN is critical when the subject is empty.
      asnExtension(asn1X509.id_ce_subjectAltName, p.subjectIsEmpty, names),
      asnExtension(asn1X509.id_ce_subjectKeyIdentifier, false, new asn1X509.SubjectKeyIdentifier(Buffer.from(p.subjectKeyId, 'hex'))),
      ...this.#issuerParts,
      cdp,
    ];
  }
}

function generalName(s: Identifier): asn1X509.GeneralName {
  if (s.type === 'dns') return new asn1X509.GeneralName({ dNSName: s.value });
  if (s.type === 'ip') return new asn1X509.GeneralName({ iPAddress: s.value });
  return new asn1X509.GeneralName({ uniformResourceIdentifier: s.value });
}

/** Extensions of a CA certificate: root (no pathLen) or intermediate (pathLen 0). */
export function caExtensions(p: { pathLength?: number; subjectKeyId: string; authorityKeyId?: string }): x509.Extension[] {
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, p.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectKeyIdentifierExtension(p.subjectKeyId),
  ];
  if (p.authorityKeyId) exts.push(new x509.AuthorityKeyIdentifierExtension(p.authorityKeyId));
  return exts;
}
