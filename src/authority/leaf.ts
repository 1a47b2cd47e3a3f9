import { CaError } from '../domain/errors.ts';
import { derOid, derTlv } from '../domain/der.ts';
import { sha256Hex } from '../domain/hash.ts';
import { crlShardFor } from '../domain/crl-shards.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import { formatIdentifier, type Identifier } from '../domain/types.ts';
import type { CsrInfo } from '../x509/csr.ts';
import { generateSerial } from '../x509/serial.ts';
import { x509 } from '../x509/x509.ts';
import type { IssuanceRequest } from './issuance.ts';
import { REQUIRED_EXTENSIONS } from './lint.ts';
import { LeafExtensionBuilder, leafKeyUsage, type LeafProfile } from './profiles.ts';
import type { IssuerInfo } from './issuer.ts';
import { checkNameConstraints, nameConstraintsOf, type NameConstraints } from './name-constraints.ts';
import { validityFor } from './validity.ts';

/** keyUsage bits of a CA (RFC 5280 §4.2.1.3): never granted to a leaf. */
const CA_KEY_USAGES = new Set(['keyCertSign', 'cRLSign']);

export interface IssueOptions {
  profile?: string;
  /** Requested lifetime; defaults to the authority's default, refused above the maximum. */
  lifetimeMs?: number;
  /** When set (ACME), the CSR must ask for exactly these names. */
  identifiers?: Identifier[];
  /** Who asked, for the audit trail: `cli`, `acme:<account id>`. */
  actor?: string;
  /** A serial the caller recorded before asking (ACME finalize, for crash recovery); from generateSerial. */
  serial?: string;
  /**
   * A renewal by the current certificate (EST simplereenroll): the serial it replaces and when its
   * lineage began, recorded with the `valid` row and in the audit event (ARI `replaces`, RFC 9773 §5).
   */
  renewal?: { replaces: string; lineageStart: Date };
}

/**
 * Phase one of a leaf's issuance: decides every field of the certificate from a judged CSR,
 * the profile and the issuer, and checks what the request may ask for. Nothing is written or
 * signed here; the result goes to issueCertificate (issuance.ts).
 */
export class LeafPreparer {
  readonly #o: { issuer: IssuerInfo; defaultLifetimeMs: number; maxLifetimeMs: number; profiles: Record<string, LeafProfile> };
  readonly #extensions: LeafExtensionBuilder;
  /** Issuer-derived parts of every leaf, taken once. */
  readonly #issuerName: Uint8Array;
  readonly #issuerKeySha256: string;
  /** The issuer certificate's own nameConstraints: a leaf outside them is refused before it is signed. */
  readonly #nameConstraints: NameConstraints | null;

  constructor(o: { issuer: IssuerInfo; issuerSpki: Uint8Array; defaultLifetimeMs: number; maxLifetimeMs: number; profiles: Record<string, LeafProfile> }) {
    this.#o = o;
    this.#extensions = new LeafExtensionBuilder({ authorityKeyId: o.issuer.keyId, urls: o.issuer.urls });
    this.#issuerName = new Uint8Array(o.issuer.certificate.subjectName.toArrayBuffer());
    this.#issuerKeySha256 = sha256Hex(o.issuerSpki);
    this.#nameConstraints = nameConstraintsOf(o.issuer.certificate);
  }

  prepare(info: CsrInfo, opts: IssueOptions, nowMs: number): IssuanceRequest & { sans: string[] } {
    const { issuer } = this.#o;
    const profile = this.#o.profiles[opts.profile ?? 'default'];
    if (!profile) throw new CaError('malformed', `unknown profile "${opts.profile}" (known: ${Object.keys(this.#o.profiles).join(', ')})`);

    const identifiers = identifiersFor(info, opts);
    if (this.#nameConstraints) checkNameConstraints(this.#nameConstraints, identifiers);
    for (const eku of info.requestedEku) {
      if (!profile.eku.includes(eku)) throw new CaError('badCsr', `the CSR asks for extended key usage ${eku}, which profile "${profile.name}" does not allow`);
    }
    const isRsa = info.keyAlg.startsWith('rsa');
    const keyUsage: string[] = leafKeyUsage(isRsa);
    for (const usage of info.requestedKeyUsage) {
      // A CA's usages are never an end entity's: asking for them is refused. Other usages are narrowed
      // to the leaf's (documented, as Boulder and step-ca do): acme.sh asks for nonRepudiation, and
      // acme-client (pki enroll) and cert-manager for keyEncipherment with EC keys, where RFC 5480 §3
      // does not allow it; refusing them would turn away unmodified clients.
      if (CA_KEY_USAGES.has(usage)) throw new CaError('badCsr', `the CSR asks for key usage ${usage}, which only a CA certificate carries; a leaf with this key gets ${keyUsage.join(', ')}`);
    }
    const publicKeySha256 = sha256Hex(info.publicKeySpki);
    if (publicKeySha256 === this.#issuerKeySha256) {
      throw new CaError('badCsr', "the CSR uses the CA's own public key");
    }

    const lifetime = opts.lifetimeMs ?? Math.min(this.#o.defaultLifetimeMs, profile.maxLifetimeMs);
    const maxLifetime = Math.min(this.#o.maxLifetimeMs, profile.maxLifetimeMs);
    if (!(lifetime > 0) || lifetime > maxLifetime) {
      throw new CaError('malformed', `lifetime of ${Math.round(lifetime / 1000)} s is outside what profile "${profile.name}" allows (up to ${Math.round(maxLifetime / 1000)} s)`);
    }
    const { notBefore, notAfter } = validityFor(nowMs, lifetime, issuer.certificate);
    if (opts.serial !== undefined && !/^[4-7][0-9a-f]{31}$/.test(opts.serial)) throw new CaError('malformed', 'a caller-chosen serial must come from generateSerial');
    const serial = opts.serial ?? generateSerial();
    const sans = canonicalSet(identifiers);
    return {
      template: {
        serial,
        issuerName: this.#issuerName,
        subjectName: subjectNameDer(info.commonName),
        notBefore,
        notAfter,
        publicKeySpki: info.publicKeySpki,
        extensions: this.#extensions.build({
          profile,
          sans: identifiers,
          subjectKeyId: info.subjectKeyId,
          isRsa,
          crlShard: crlShardFor(serial, issuer.crlShards),
          subjectIsEmpty: info.commonName === null,
          tlsFeature: info.tlsFeature,
        }),
      },
      issuerKeyId: issuer.keyId,
      issuerValidity: issuer.certificate,
      required: REQUIRED_EXTENSIONS.leaf,
      subject: info.commonName ?? '',
      sans,
      profile: profile.name,
      actor: opts.actor ?? 'system',
      event: { action: 'certificate.issued', details: { profile: profile.name, sans, notAfter: notAfter.toISOString(), ...(opts.renewal ? { replaces: opts.renewal.replaces } : {}) } },
      publicKeySha256,
      // The lineage is written in the commit (and the statement) that makes the certificate `valid`.
      ...(opts.renewal ? { renewal: opts.renewal } : {}),
    };
  }
}

/** The names the certificate will carry: the CSR's SANs plus its CN; for ACME they must equal the order's. */
function identifiersFor(info: CsrInfo, opts: IssueOptions): Identifier[] {
  const fromCsr = [...info.sans];
  if (info.commonName !== null) {
    let cn: Identifier;
    try {
      cn = parseIdentifier(info.commonName);
    } catch {
      throw new CaError('badCsr', `the CSR's common name "${info.commonName}" is not a DNS name or IP address`);
    }
    if (!fromCsr.some((s) => formatIdentifier(s) === formatIdentifier(cn))) fromCsr.push(cn);
  }
  if (fromCsr.length === 0) throw new CaError('badCsr', 'the CSR names no identifiers: add subjectAltName entries (DNS, IP or URI)');
  if (fromCsr.length > 100) throw new CaError('badCsr', 'the CSR names more than 100 identifiers');
  if (opts.identifiers) {
    const want = canonicalSet(opts.identifiers);
    const got = canonicalSet(fromCsr);
    if (want.join(',') !== got.join(',')) {
      throw new CaError('badCsr', `the CSR names [${got.join(', ')}] but the order is for [${want.join(', ')}]`);
    }
  }
  // Keep a stable, de-duplicated order in the SAN extension.
  const seen = new Set<string>();
  return fromCsr.filter((i) => !seen.has(formatIdentifier(i)) && seen.add(formatIdentifier(i)));
}

/**
 * The leaf's subject DER: empty, or the CSR's common name alone, encoded as @peculiar/x509's
 * `new x509.Name([{ CN: [cn] }])` would (PrintableString when the text allows it, else UTF8String).
 */
export function subjectNameDer(commonName: string | null): Uint8Array {
  if (commonName === null) return EMPTY_NAME;
  const value = x509.Name.isPrintableString(commonName) ? derTlv(0x13, Buffer.from(commonName, 'latin1')) : derTlv(0x0c, Buffer.from(commonName, 'utf8'));
  return derTlv(0x30, derTlv(0x31, derTlv(0x30, OID_CN, value)));
}
const EMPTY_NAME = Uint8Array.of(0x30, 0x00);
const OID_CN = derOid('2.5.4.3');

