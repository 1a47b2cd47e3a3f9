import { sha256Hex } from '../domain/hash.ts';
import { crlShardFor } from '../domain/crl-shards.ts';
import type { Clock } from '../domain/clock.ts';
import { derOid, derTlv } from '../domain/der.ts';
import { CaError, isCaError } from '../domain/errors.ts';
import { formatIdentifier, reasonNameOf, REVOCATION_REASONS, type CertRecord, type Identifier, type RevocationReason } from '../domain/types.ts';
import type { Signer } from '../domain/signer.ts';
import { parseCsr, type CsrInfo } from '../x509/csr.ts';
import { signCertificate, type CertificateTemplate } from '../x509/certificate.ts';
import { canonicalSet, parseIdentifier } from '../domain/identifiers.ts';
import { generateSerial } from '../x509/serial.ts';
import { toPem, x509 } from '../x509/x509.ts';
import type { Store } from '../store/store.ts';
import { lintTemplate } from './lint.ts';
import { BACKDATE_MS, LEAF_PROFILES, LeafExtensionBuilder, type IssuerUrls, type LeafProfile } from './profiles.ts';

/** The issuing CA as the authority sees it: its certificate and the key that signs for it. */
export interface Issuer {
  certificate: x509.X509Certificate;
  /** Hex key identifier of the issuer key (its SKI): names the issuer in the store and in CRL URLs. */
  keyId: string;
  signer: Signer;
  urls: IssuerUrls;
  crlShards: number;
}

export interface IssueOptions {
  profile?: string;
  /** Requested lifetime; defaults to the authority's default, refused above the maximum. */
  lifetimeMs?: number;
  /** When set (ACME), the CSR must ask for exactly these names. */
  identifiers?: Identifier[];
  /** Who asked, for the audit trail: `cli`, `acme:<account id>`. */
  actor?: string;
}

export interface IssuedCertificate {
  serial: string;
  der: Uint8Array;
  pem: string;
  /** Leaf followed by the intermediate, as servers send it. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  sans: string[];
}

export interface AuthorityOptions {
  store: Store;
  issuer: Issuer;
  clock: Clock;
  defaultLifetimeMs: number;
  maxLifetimeMs: number;
  profiles?: Record<string, LeafProfile>;
}

/**
 * The only orchestrator of signing: every certificate is born in `issue`, in two
 * phases (after Boulder): prepare and lint the template → reserve the serial as
 * `pending` → sign once → store the DER as `valid` with an audit row. A crash at
 * any point leaves at worst a `pending` row, never a signature the store does not know.
 */
export class Authority {
  readonly #o: AuthorityOptions;
  readonly #profiles: Record<string, LeafProfile>;
  readonly #issuedListeners: ((c: IssuedCertificate) => void | Promise<void>)[] = [];
  readonly #revokedListeners: ((r: CertRecord) => void | Promise<void>)[] = [];

  readonly #extensions: LeafExtensionBuilder;
  /** Issuer-derived parts of every leaf, taken once. */
  readonly #issuerName: Uint8Array;
  readonly #issuerKeySha256: string;
  readonly #issuerPem: string;

  constructor(opts: AuthorityOptions) {
    this.#o = opts;
    this.#profiles = opts.profiles ?? LEAF_PROFILES;
    this.#extensions = new LeafExtensionBuilder({ authorityKeyId: opts.issuer.keyId, urls: opts.issuer.urls });
    this.#issuerName = new Uint8Array(opts.issuer.certificate.subjectName.toArrayBuffer());
    this.#issuerKeySha256 = sha256Hex(opts.issuer.signer.publicKeySpki);
    this.#issuerPem = opts.issuer.certificate.toString('pem') + '\n';
  }

  get issuer(): Issuer {
    return this.#o.issuer;
  }

  get profiles(): Readonly<Record<string, LeafProfile>> {
    return this.#profiles;
  }

  /** Called after each issuance is committed (e.g. to pre-sign its OCSP response). */
  onIssued(listener: (c: IssuedCertificate) => void | Promise<void>): void {
    this.#issuedListeners.push(listener);
  }

  /** Called after each revocation is committed (e.g. to rebuild the CRL and re-sign OCSP). */
  onRevoked(listener: (r: CertRecord) => void | Promise<void>): void {
    this.#revokedListeners.push(listener);
  }

  /**
   * Explains serials left `pending` by a crash (reserved, never stored): their certificate, if it
   * was signed at all, was never handed to anyone, because delivery follows the `valid` commit.
   * They are marked `failed` with an audit row each. Only rows older than `graceMs` are touched,
   * so an issuance in flight in another process is left alone.
   */
  reconcilePending(graceMs = 60_000): string[] {
    const { store, clock } = this.#o;
    const now = clock.now();
    return store.transaction(() => {
      const stale = store.certificates.listStalePending(new Date(now.getTime() - graceMs));
      for (const serial of stale) {
        store.certificates.markFailed(serial);
        store.audit.append({ at: now, action: 'certificate.abandoned', actor: 'system', target: serial, details: { reason: 'reserved but never stored (process stopped during issuance)' } });
      }
      return stale;
    });
  }

  /**
   * Revokes a certificate this issuer signed. Refuses unknown serials, certificates of
   * another issuer (the CA certificates themselves) and repeats (`alreadyRevoked`).
   */
  async revoke(serial: string, opts: { reason?: RevocationReason; actor?: string } = {}): Promise<CertRecord> {
    const { store, issuer, clock } = this.#o;
    const reasonName = opts.reason ?? 'unspecified';
    const reason = REVOCATION_REASONS[reasonName];
    if (reason === undefined) throw new CaError('malformed', `unknown revocation reason "${reasonName}"`);
    const at = clock.now();
    const record = await store.durably(() => {
      const cert = store.certificates.get(serial);
      if (!cert || cert.issuer !== issuer.keyId) throw new CaError('notFound', `no certificate with serial ${serial} was issued by this CA`);
      if (cert.status === 'revoked') {
        throw new CaError('alreadyRevoked', `certificate ${serial} is already revoked (since ${cert.revokedAt?.toISOString()}, reason ${reasonNameOf(cert.reason)})`);
      }
      if (cert.status !== 'valid') throw new CaError('conflict', `certificate ${serial} is ${cert.status}, not valid: nothing to revoke`);
      store.certificates.revoke(serial, at, reason);
      store.audit.append({ at, action: 'certificate.revoked', actor: opts.actor ?? 'system', target: serial, details: { reason: reasonName } });
      return store.certificates.get(serial)!;
    });
    for (const l of this.#revokedListeners) await l(record);
    return record;
  }

  async issue(csr: Uint8Array | string, opts: IssueOptions = {}): Promise<IssuedCertificate> {
    const info = await parseCsr(csr);
    const { template, profile, sans, publicKeySha256 } = this.#prepare(info, opts);
    const { store, issuer } = this.#o;
    const now = this.#o.clock.now();

    // Durable before the key signs: a signature never exists for a serial the disk does not hold.
    await store.durably(() =>
      store.certificates.reserve({
        serial: template.serial,
        issuer: issuer.keyId,
        subject: info.commonName ?? '',
        sans,
        profile: profile.name,
        notBefore: template.notBefore,
        notAfter: template.notAfter,
        publicKeySha256,
        now,
      }),
    );

    let der: Uint8Array;
    try {
      der = await signCertificate(template, issuer.signer);
    } catch (e) {
      await store.durably(() => {
        store.certificates.markFailed(template.serial);
        store.audit.append({ at: now, action: 'certificate.failed', actor: opts.actor ?? 'system', target: template.serial, details: { error: (e as Error).message } });
      });
      throw isCaError(e) ? e : new CaError('keyStore', 'signing failed', { cause: e });
    }

    // Durable before the certificate is handed to anyone.
    await store.durably(() => {
      store.certificates.markValid(template.serial, der);
      store.audit.append({
        at: now,
        action: 'certificate.issued',
        actor: opts.actor ?? 'system',
        target: template.serial,
        details: { profile: profile.name, sans, notAfter: template.notAfter.toISOString() },
      });
    });

    const pem = toPem(der, 'CERTIFICATE');
    const issued: IssuedCertificate = {
      serial: template.serial,
      der,
      pem,
      chainPem: pem + this.#issuerPem,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      sans,
    };
    for (const l of this.#issuedListeners) await l(issued);
    return issued;
  }

  /** Phase one: decide every field of the certificate and check it; nothing is written or signed here. */
  #prepare(info: CsrInfo, opts: IssueOptions): { template: CertificateTemplate; profile: LeafProfile; sans: string[]; publicKeySha256: string } {
    const { issuer, clock } = this.#o;
    const profile = this.#profiles[opts.profile ?? 'default'];
    if (!profile) throw new CaError('malformed', `unknown profile "${opts.profile}" (known: ${Object.keys(this.#profiles).join(', ')})`);

    const identifiers = this.#identifiersFor(info, opts);
    for (const eku of info.requestedEku) {
      if (!profile.eku.includes(eku)) throw new CaError('badCsr', `the CSR asks for extended key usage ${eku}, which profile "${profile.name}" does not allow`);
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
    const now = clock.now().getTime();
    // Backdate for clock skew, but never before the issuer itself became valid.
    const notBefore = new Date(Math.max(Math.floor((now - BACKDATE_MS) / 1000) * 1000, issuer.certificate.notBefore.getTime()));
    // Never outlive the issuer (RFC 5280 path validation would reject the tail anyway).
    const notAfter = new Date(Math.min(Math.floor((now + lifetime) / 1000) * 1000, issuer.certificate.notAfter.getTime()));

    const serial = generateSerial();
    const subjectIsEmpty = info.commonName === null;
    const template: CertificateTemplate = {
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
        isRsa: info.keyAlg.startsWith('rsa'),
        crlShard: crlShardFor(serial, issuer.crlShards),
        subjectIsEmpty,
      }),
    };
    lintTemplate(template, { issuerNotBefore: issuer.certificate.notBefore, issuerNotAfter: issuer.certificate.notAfter });
    return { template, profile, sans: canonicalSet(identifiers), publicKeySha256 };
  }

  /** The names the certificate will carry: the CSR's SANs plus its CN; for ACME they must equal the order's. */
  #identifiersFor(info: CsrInfo, opts: IssueOptions): Identifier[] {
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

export type { CertRecord };
