import type { Clock } from '../domain/clock.ts';
import { CaError } from '../domain/errors.ts';
import { silentLogger, type Logger } from '../domain/log.ts';
import type { CertRecord, RevocationReason } from '../domain/types.ts';
import type { KeyStore } from '../keystore/keystore.ts';
import type { StoredCrl } from '../store/crls.ts';
import type { Store } from '../store/store.ts';
import { keyIdentifier } from '../x509/certificate.ts';
import { parseCsr } from '../x509/csr.ts';
import { toPem, type x509 } from '../x509/x509.ts';
import { Checkpointer, LOG_CHECK_RETRY_S } from './checkpoints.ts';
import { issueCrl, type CrlRequest } from './crl-issuance.ts';
import { issueCertificate } from './issuance.ts';
import type { IssuerInfo } from './issuer.ts';
import { IssuerKey, type IssuerKeyHealth, type SignOutcome } from './issuer-key.ts';
import { LeafPreparer, type IssueOptions } from './leaf.ts';
import { Observers } from './observers.ts';
import { LEAF_PROFILES, type IssuerUrls, type LeafProfile } from './profiles.ts';
import { prepareResponder, type ResponderKey } from './responder-certificate.ts';
import { recordRevocation } from './revocation.ts';

export interface IssuedCertificate {
  serial: string;
  der: Uint8Array;
  pem: string;
  /** Leaf followed by the intermediate, as servers send it. */
  chainPem: string;
  notBefore: Date;
  notAfter: Date;
  sans: string[];
  profile: string;
}

export interface AuthorityOptions {
  store: Store;
  clock: Clock;
  /** The key store and label of the issuing key: the authority takes the signer itself and keeps it. */
  keyStore: KeyStore;
  keyLabel: string;
  certificate: x509.X509Certificate;
  urls: (keyId: string) => IssuerUrls;
  crlShards: number;
  defaultLifetimeMs: number;
  maxLifetimeMs: number;
  profiles?: Record<string, LeafProfile>;
  logger?: Logger;
  /** Told about every signature the issuing key makes (metrics). */
  onSign?: (o: SignOutcome) => void;
  /** The transparency log's checkpoint key and origin (#17). */
  log?: { keyLabel: string; origin: string };
}

/**
 * The only code that signs with the issuer key, and so the only code that decides what gets
 * signed: leaves (`issue`), the delegated OCSP responder (`issueResponder`) and CRLs (`issueCrl`),
 * each through the one issuance discipline (issuance.ts, crl-issuance.ts); CA certificates go
 * through the same primitive at init (ca-certificates.ts). The signer is taken from the key store
 * here and never handed out: others see `issuer` (no key) and `keyHealth` (can it sign?).
 */
export class Authority {
  readonly issuer: IssuerInfo;
  /** Signs the transparency log's checkpoints; null when the key store cannot hold its key. */
  readonly log: Checkpointer | null;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #key: IssuerKey;
  readonly #leaves: LeafPreparer;
  readonly #profiles: Record<string, LeafProfile>;
  readonly #issuerName: Uint8Array;
  readonly #issuerPem: string;
  readonly #issued: Observers<IssuedCertificate>;
  readonly #revoked: Observers<CertRecord>;

  static async open(o: AuthorityOptions): Promise<Authority> {
    const signer = await o.keyStore.getSigner({ label: o.keyLabel });
    const keyId = keyIdentifier(signer.publicKeySpki);
    if (keyId !== keyIdentifier(new Uint8Array(o.certificate.publicKey.rawData))) {
      throw new CaError('config', `key "${o.keyLabel}" does not match the issuer certificate ${o.certificate.subject}`);
    }
    const log = o.log ? await Checkpointer.open({ store: o.store, keyStore: o.keyStore, keyLabel: o.log.keyLabel, origin: o.log.origin, clock: o.clock, logger: o.logger }) : null;
    return new Authority(o, new IssuerKey(signer, o.onSign), keyId, log);
  }

  private constructor(o: AuthorityOptions, key: IssuerKey, keyId: string, log: Checkpointer | null) {
    this.log = log;
    this.#store = o.store;
    this.#clock = o.clock;
    this.#key = key;
    this.issuer = { certificate: o.certificate, keyId, urls: o.urls(keyId), crlShards: o.crlShards };
    this.#profiles = o.profiles ?? LEAF_PROFILES;
    this.#leaves = new LeafPreparer({ issuer: this.issuer, issuerSpki: key.publicKeySpki, defaultLifetimeMs: o.defaultLifetimeMs, maxLifetimeMs: o.maxLifetimeMs, profiles: this.#profiles });
    this.#issuerName = new Uint8Array(o.certificate.subjectName.toArrayBuffer());
    this.#issuerPem = o.certificate.toString('pem') + '\n';
    const logger = o.logger ?? silentLogger;
    this.#issued = new Observers('certificate.issued', logger);
    this.#revoked = new Observers('certificate.revoked', logger);
  }

  get profiles(): Readonly<Record<string, LeafProfile>> {
    return this.#profiles;
  }

  /** Whether the issuing key signs (readiness): observe and probe, nothing more. */
  get keyHealth(): IssuerKeyHealth {
    return this.#key.health();
  }

  /** Where observer failures are logged (the serving process sets its logger). */
  set logger(logger: Logger) {
    this.#issued.logger = logger;
    this.#revoked.logger = logger;
    if (this.log) this.log.logger = logger;
  }

  /** Called after each leaf issuance is committed (e.g. to pre-sign its OCSP response); failures are logged and retried. */
  onIssued(listener: (c: IssuedCertificate) => void | Promise<void>): void {
    this.#issued.add(listener);
  }

  /** Called after each revocation is committed (e.g. to rebuild the CRL and re-sign OCSP); failures are logged and retried. */
  onRevoked(listener: (r: CertRecord) => void | Promise<void>): void {
    this.#revoked.add(listener);
  }

  /**
   * `own.whileLogChecks`: the serving process's own listener certificate, which may be issued
   * while the log's start check runs (its stored tree already held to the last checkpoint;
   * docs/design.md "Start-up before the log check"). Nothing else is.
   */
  async issue(csr: Uint8Array | string, opts: IssueOptions = {}, own: { whileLogChecks?: boolean } = {}): Promise<IssuedCertificate> {
    // A database that does not match its signed log signs nothing new (status keeps answering).
    if (this.log?.refusal) throw new CaError('unavailable', this.log.refusal);
    // Not yet known to match (#21): a temporary refusal, never a signature over an unchecked log.
    if (this.log?.checking && !own.whileLogChecks) throw new CaError('unavailable', this.log.checking, { retryAfterS: LOG_CHECK_RETRY_S });
    const info = await parseCsr(csr);
    const request = this.#leaves.prepare(info, opts, this.#clock.now().getTime());
    const der = await issueCertificate({ store: this.#store, clock: this.#clock, key: this.#key }, request);
    const pem = toPem(der, 'CERTIFICATE');
    const { template } = request;
    const issued: IssuedCertificate = { serial: template.serial, der, pem, chainPem: pem + this.#issuerPem, notBefore: template.notBefore, notAfter: template.notAfter, sans: request.sans, profile: request.profile };
    this.log?.schedule();
    await this.#issued.notify(issued, issued.serial);
    return issued;
  }

  /** A delegated OCSP responder certificate (RFC 6960 §4.2.2.2) and its in-memory key, issued like any certificate. */
  async issueResponder(lifetimeMs: number): Promise<ResponderKey> {
    const { request, responderKey } = prepareResponder(this.issuer, this.#clock.now().getTime(), lifetimeMs);
    return responderKey(await issueCertificate({ store: this.#store, clock: this.#clock, key: this.#key }, request));
  }

  /** The next CRL of one shard, signed and stored (crl-issuance.ts). */
  issueCrl(r: CrlRequest): Promise<StoredCrl> {
    return issueCrl({ store: this.#store, key: this.#key, issuer: this.issuer, issuerName: this.#issuerName }, r);
  }

  /**
   * Revokes a certificate this issuer signed. Refuses unknown serials, certificates of
   * another issuer (the CA certificates themselves) and repeats (`alreadyRevoked`).
   */
  async revoke(serial: string, opts: { reason?: RevocationReason; actor?: string } = {}): Promise<CertRecord> {
    const record = await recordRevocation(this.#store, this.issuer.keyId, serial, this.#clock.now(), opts);
    this.log?.schedule();
    await this.#revoked.notify(record, serial);
    return record;
  }

  /**
   * Explains serials left `pending` by a crash (reserved, never stored): their certificate, if it
   * was signed at all, was never handed to anyone, because delivery follows the `valid` commit.
   * They are marked `failed` with an audit row each. Only rows older than `graceMs` are touched,
   * so an issuance in flight in another process is left alone.
   */
  reconcilePending(graceMs = 60_000): string[] {
    const store = this.#store;
    const now = this.#clock.now();
    return store.transaction(() => {
      const stale = store.certificates.listStalePending(new Date(now.getTime() - graceMs));
      for (const serial of stale) {
        store.certificates.markFailed(serial);
        store.audit.append({ at: now, action: 'certificate.abandoned', actor: 'system', target: serial, details: { reason: 'reserved but never stored (process stopped during issuance)' } });
      }
      return stale;
    });
  }
}

export type { CertRecord, IssueOptions, IssuerInfo, ResponderKey };
