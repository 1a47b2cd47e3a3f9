import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import type { Authority, CertRecord, IssuerInfo, ResponderKey } from '../authority/authority.ts';
import { crlShardFor } from '../domain/crl-shards.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../domain/log.ts';
import type { Store } from '../store/store.ts';
import type { StoredOcspResponse } from '../store/ocsp-responses.ts';
import { CrlPublisher } from './crl-publisher.ts';
import { IssuerHashes, SHA1_OID } from '../x509/issuer-hashes.ts';
import { OcspResponseCache, servedResponse, type ServedResponse } from './ocsp-cache.ts';
import { StoredResponseFeed } from './stored-responses.ts';
import { PresignPartitions } from './presign-partitions.ts';
import { OcspResponder, type OcspStatusSource } from './ocsp-responder.ts';
import { signOcspResponse, type CertStatusInfo } from './ocsp-response.ts';
import { DEFAULT_STATUS_OPTIONS, type StatusOptions } from './options.ts';
import { derTlv, serialContents } from '../domain/der.ts';

export interface StatusServiceDeps {
  store: Store;
  /**
   * Where the responses of certificates this process has just issued are written: the
   * issuance connection (synchronous=NORMAL, see CaInstance.issuanceStore), so a hot-path
   * commit neither switches `store`'s sync mode nor empties its page cache. Default: `store`.
   */
  freshStore?: Store;
  /** Who the issuer is, the signatures only it makes (responder certificates, CRLs), and word of what it did. */
  authority: StatusAuthority;
  clock: Clock;
  logger: Logger;
  options?: Partial<StatusOptions>;
}

export type StatusAuthority = Pick<Authority, 'issuer' | 'issueResponder' | 'issueCrl' | 'onIssued' | 'onRevoked'>;

/**
 * Revocation status for one issuer: keeps a pre-signed OCSP response for every live
 * certificate (signed at issuance and revocation, refreshed well before nextUpdate),
 * the delegated responder key (rotated before it expires) and the CRL shards (rebuilt
 * shortly after a revocation and before nextUpdate). Changes committed by other
 * processes (`pki revoke`, `pki issue`) are noticed through SQLite's data_version.
 */
export class StatusService implements OcspStatusSource {
  readonly cache: OcspResponseCache;
  readonly responderLogic: OcspResponder;
  readonly crls: CrlPublisher;
  readonly options: StatusOptions;
  readonly #d: StatusServiceDeps;
  readonly #issuer: IssuerInfo;
  readonly #hashes: IssuerHashes;
  #responder: ResponderKey | null = null;
  #rotating: Promise<ResponderKey> | null = null;
  readonly #feed: StoredResponseFeed;
  /** What this replica pre-signs in the background when replicas share the database (#22). */
  readonly #partitions: PresignPartitions;
  #timers: NodeJS.Timeout[] = [];
  #busy: Promise<void> = Promise.resolve();
  #pending = 0;
  /** The id of the last audit event the poll has acted on (null until start(), or a first poll, takes it). */
  #auditMark: number | null = null;
  /** A poll stopped short of the newest events (it failed): the next one resumes even if nothing else was committed. */
  #behind = false;
  /** stop() was called: a background scan under way ends at its next step. */
  #stopped = false;

  constructor(d: StatusServiceDeps) {
    this.#d = d;
    this.#issuer = d.authority.issuer;
    this.options = { ...DEFAULT_STATUS_OPTIONS, ...d.options };
    this.cache = new OcspResponseCache({ maxEntries: this.options.ocspCacheEntries });
    this.#hashes = new IssuerHashes(new Uint8Array(this.#issuer.certificate.rawData));
    this.responderLogic = new OcspResponder({
      hashes: this.#hashes,
      source: this,
      clock: d.clock,
      validityMs: this.options.ocspValidityMs,
      maxCertsPerRequest: this.options.maxCertsPerRequest,
    });
    this.#feed = new StoredResponseFeed({ db: d.store.db, responses: d.store.ocspResponses, cache: this.cache });
    this.#partitions = new PresignPartitions(d.store, this.#issuer.keyId);
    this.crls = new CrlPublisher({ store: d.store, authority: d.authority, clock: d.clock, logger: d.logger, options: this.options });
  }

  /** Hooks onto the authority: pre-sign at issuance, re-sign and rebuild the CRL at revocation. */
  attach(): void {
    const { authority } = this.#d;
    // A fresh certificate's "good" response is committed without waiting for the disk: if power
    // loss takes it back, start() re-signs every certificate that has none (#reconcile).
    authority.onIssued(async (c) => {
      await this.presign(c.serial, { fresh: true });
    });
    authority.onRevoked(async (r) => {
      await this.presign(r.serial);
      this.crls.markDirty(crlShardFor(r.serial, this.#issuer.crlShards));
    });
  }

  /**
   * Signs the responder and builds absent CRLs, then keeps everything fresh in the background.
   * Nothing is loaded up front (responses are read by serial on demand), and the full scan for
   * certificates left without a right response runs as the first background job (`caughtUp`):
   * until it has run, a response that disagrees with its certificate row is never served
   * (`OcspResponseRepository.current`), so readiness does not wait for it.
   */
  async start(): Promise<void> {
    // data_version, the response feed and the audit mark are taken before the scan: whatever another
    // process commits during it makes the first poll run, and lies after the mark, so the poll sees it.
    // Read before the responder is signed: a database that cannot be read fails the start with nothing signed.
    this.#stopped = false;
    this.#feed.mark();
    this.#auditMark = this.#d.store.audit.lastId();
    await this.responder();
    await this.crls.start();
    this.#partitions.renew(this.#d.clock.now().getTime());
    this.caughtUp = this.#serially(() => this.#reconcile({ pollBetween: true }));
    // A poll is skipped while another job runs (it would only queue up behind a long refresh).
    const poll = setInterval(() => this.#idle && void this.#serially(() => this.#poll()), this.options.pollIntervalMs);
    const maintain = setInterval(() => void this.#serially(() => this.#maintain()), this.options.maintenanceIntervalMs);
    // Leases are renewed well inside their 30 s; a failed round (database away) is retried at the next.
    const partitions = setInterval(() => void this.#serially(async () => this.#partitions.renew(this.#d.clock.now().getTime())), PARTITION_RENEW_MS);
    poll.unref();
    maintain.unref();
    partitions.unref();
    this.#timers.push(poll, maintain, partitions);
  }

  /** Settles once start()'s scan for certificates without a right response has run. */
  caughtUp: Promise<void> = Promise.resolve();

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.crls.stop();
    try {
      this.#partitions.release();
    } catch {
      // The database is gone: the leases lapse by themselves.
    }
  }

  /** Signs and stores the SHA-1 CertID response for one of our certificates, and serves it from now on. */
  async presign(serial: string, o: { fresh?: boolean; hold?: boolean } = {}): Promise<ServedResponse> {
    const { served, row } = this.#sign(serial, await this.responder(), o.fresh ?? false);
    if (!row) {
      this.cache.putUnknown(served);
      return served;
    }
    // `hold`: asked for, so kept in memory; otherwise a response held is replaced and one nobody has asked for waits in the database.
    if (o.hold) this.cache.put(served);
    else this.cache.update(served);
    // Asked for before the poll got to it (revoked elsewhere): the poll will find nothing stale, so the CRL is marked here.
    if (o.hold && row.certStatus === 'revoked') this.crls.markDirty(crlShardFor(serial, this.#issuer.crlShards));
    const target = o.fresh ? (this.#d.freshStore ?? this.#d.store) : this.#d.store;
    if (o.fresh) target.relaxed(() => target.ocspResponses.put(row));
    else target.ocspResponses.put(row);
    return served;
  }

  /** The response for one serial, signed now; `row` is what to store (null for "unknown": not ours, not issued). */
  #sign(serial: string, responder: ResponderKey, fresh: boolean): { served: ServedResponse; row: StoredRow | null } {
    const issuer = this.#issuer;
    // `fresh`: just issued by this process's authority, so ours and good (no row to read).
    const cert = fresh ? null : this.#d.store.certificates.get(serial);
    const status: CertStatusInfo = fresh ? { kind: 'good' } : statusOfRecord(cert, issuer.keyId);
    const now = this.#d.clock.now();
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const nextUpdate = new Date(Math.min(thisUpdate.getTime() + this.options.ocspValidityMs, responder.notAfter.getTime()));
    const der = signOcspResponse({ responder, producedAt: thisUpdate, answers: [{ certIdDer: this.#sha1CertId(serial), status, thisUpdate, nextUpdate }] });
    const served = servedResponse(serial, der, thisUpdate, nextUpdate);
    const ours = status.kind !== 'unknown' && (fresh || cert?.issuer === issuer.keyId);
    return { served, row: ours ? { serial, certStatus: status.kind, thisUpdate, nextUpdate, responder: responder.serial, der } : null };
  }

  /**
   * Background re-signing (refresh, start()'s scan, a poll's catch-up): RESIGN_SLICE_MS of signing
   * written in one relaxed commit (rows rebuilt when missing), then the loop is free for requests;
   * `pauseRatio`: idle that many times the slice's time too. A synchronous commit per response held
   * the loop for seconds when a million came due together (OCSP on the primary fell to 26 req/s).
   */
  async #resign(serials: readonly string[], pauseRatio = 0): Promise<void> {
    const { store } = this.#d;
    for (let i = 0; i < serials.length && !this.#stopped; ) {
      const responder = await this.responder();
      const t0 = performance.now();
      const signed: { row: StoredRow; served: ServedResponse }[] = [];
      do {
        const { row, served } = this.#sign(serials[i++]!, responder, false);
        if (row) signed.push({ row, served });
      } while (i < serials.length && performance.now() - t0 < RESIGN_SLICE_MS);
      if (signed.length > 0) store.relaxed(() => store.ocspResponses.putMany(signed.map((s) => s.row)));
      // After the commit: a response held in memory is replaced only by one a follower can also read.
      for (const s of signed) this.cache.update(s.served);
      const took = performance.now() - t0;
      await (pauseRatio > 0 ? sleep(took * pauseRatio) : yieldToIo());
    }
  }

  // --- OcspStatusSource ---

  stored(serial: string): ServedResponse | null {
    return this.cache.get(serial, this.#d.clock.now().getTime());
  }

  /** Asked for with none current (no stored response, or one that no longer tells the status): signed now and held. */
  signNow(serial: string): Promise<ServedResponse> {
    return this.presign(serial, { hold: true });
  }

  /** The answer for a serial: the stored response, else one signed now. */
  async presigned(serial: string): Promise<ServedResponse> {
    return this.stored(serial) ?? this.signNow(serial);
  }

  statusOf(serial: string): CertStatusInfo {
    return statusOfRecord(this.#d.store.certificates.get(serial), this.#issuer.keyId);
  }

  /** The current responder key, issuing a new one when none exists or the current one is near its end. */
  async responder(): Promise<ResponderKey> {
    const r = this.#responder;
    if (r && r.notAfter.getTime() - this.#d.clock.now().getTime() > this.options.responderRenewBeforeMs) return r;
    this.#rotating ??= this.#d.authority
      .issueResponder(this.options.responderLifetimeMs)
      .then((k) => {
        this.#responder = k;
        this.#d.logger.info('ocsp.responder.rotated', { serial: k.serial, notAfter: k.notAfter.toISOString() });
        return k;
      })
      .finally(() => {
        this.#rotating = null;
      });
    return this.#rotating;
  }

  /** CertID (SHA-1, NULL parameters: what RFC 5019 clients send) for one of our serials. */
  #sha1CertId(serial: string): Uint8Array {
    const h = this.#hashes.get(SHA1_OID);
    const alg = Uint8Array.of(0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00);
    return derTlv(0x30, alg, derTlv(0x04, h.name), derTlv(0x04, h.key), derTlv(0x02, serialContents(serial)));
  }

  // --- background work ---

  /** Runs background jobs one at a time (a rebuild never overlaps a refresh). */
  #serially(job: () => Promise<void>): Promise<void> {
    this.#pending++;
    this.#busy = this.#busy
      .then(job)
      .catch((e: unknown) => this.#d.logger.error('status.job.failed', { error: (e as Error).message }))
      .finally(() => {
        this.#pending--;
      });
    return this.#busy;
  }

  get #idle(): boolean {
    return this.#pending === 0;
  }

  /** Another connection committed: pick up its responses and CRLs, then sign what its changes need. */
  async #poll(): Promise<void> {
    if (!this.#feed.changed() && !this.#behind) return;
    this.#feed.load();
    await this.#catchUp();
    this.crls.syncFromStore();
  }

  /** A poll between the batches of a job lasting minutes at 1M (the interval poll waits for jobs): a `pki revoke` elsewhere is not held behind it. */
  async #pollBetween(): Promise<void> {
    await this.#poll().catch((e: unknown) => this.#d.logger.error('status.job.failed', { error: (e as Error).message }));
  }

  /**
   * Signs what the certificates changed since the previous poll need, whichever process changed
   * them. Every issuance and revocation commits an audit event (certificate.issued / .revoked, or
   * ocsp.responder.issued) in the same transaction as the certificate row, so the events after the
   * mark name every certificate that may need a new response: each is looked up by key
   * (`staleAmong`), and the work follows the number of changes, not the number of certificates.
   */
  async #catchUp(): Promise<void> {
    const { store, clock } = this.#d;
    const issuer = this.#issuer;
    this.#behind = true;
    if (this.#auditMark === null) {
      // Polled before start(): nothing to resume from, so take the mark and look at everything once.
      this.#auditMark = store.audit.lastId();
      await this.#reconcile();
    }
    const last = store.audit.lastId();
    while (this.#auditMark < last) {
      const upTo = Math.min(this.#auditMark + AUDIT_BATCH, last);
      const serials = store.audit.targetsBetween(this.#auditMark, upTo, STATUS_EVENTS);
      const stale = store.ocspResponses.staleAmong(issuer.keyId, serials, new Date(clock.now().getTime() - this.options.expiredGraceMs));
      const mine: string[] = [];
      for (const s of stale) {
        // Another replica's partition: it re-signs in the background, but this one must not
        // serve what it holds meanwhile (the owner may be dead, its lease not yet lapsed). Dropped
        // from memory, the next request reads the row, refuses it while it disagrees with the
        // certificate, and signs on demand.
        if (!this.#partitions.owns(s.serial)) {
          this.cache.invalidate(s.serial);
          continue;
        }
        mine.push(s.serial);
        if (s.status === 'revoked') this.crls.markDirty(crlShardFor(s.serial, issuer.crlShards));
      }
      await this.#resign(mine);
      this.#auditMark = upTo;
      if (upTo < last) await yieldToIo(); // between batches of a long backlog
    }
    this.#behind = false;
  }

  /**
   * Certificates with no response yet, or whose response no longer tells their status (revoked
   * elsewhere): scans them all once, for start(), a window of serials at a time with the event
   * loop free in between (one statement over a million rows held it for seconds).
   */
  async #reconcile(o: { pollBetween?: boolean } = {}): Promise<void> {
    const { store, clock } = this.#d;
    const issuer = this.#issuer;
    const started = performance.now();
    let after: string | null = '';
    let busyMs = 0;
    let signed = 0;
    while (after !== null && !this.#stopped) {
      // Not from a poll's own catch-up (which would recurse).
      if (o.pollBetween && after !== '') await this.#pollBetween();
      const t0 = performance.now();
      const w = store.ocspResponses.staleWindow(issuer.keyId, new Date(clock.now().getTime() - this.options.expiredGraceMs), after, RECONCILE_WINDOW);
      const took = performance.now() - t0;
      const mine = w.stale.filter((s) => this.#partitions.owns(s.serial));
      await this.#resign(mine.map((s) => s.serial));
      for (const s of mine) if (s.status === 'revoked') this.crls.markDirty(crlShardFor(s.serial, issuer.crlShards));
      signed += w.stale.length;
      after = w.last;
      busyMs += took;
      // A pause, not just a yield: this is a safety net (serving already refuses a row that
      // disagrees with its certificate), so its reads take at most 1 / (1 + RECONCILE_IDLE_RATIO)
      // of the loop, never the hot path's share. The pause follows what the read cost (at 1M a
      // window reads ~1,000 random certificate rows, 7+ ms on a loaded box; a fixed 20 ms gave the
      // scan a quarter of the loop while it served). Signing what is missing is work, not overhead: not throttled.
      await sleep(Math.max(RECONCILE_PAUSE_MS, took * RECONCILE_IDLE_RATIO));
    }
    this.#d.logger.info('ocsp.reconciled', { signed, busyMs: Math.round(busyMs), ms: Math.round(performance.now() - started), complete: after === null });
  }

  /** Scheduled upkeep: rotate the responder, refresh responses nearing nextUpdate, rebuild CRLs nearing theirs. */
  async #maintain(): Promise<void> {
    const { store, clock } = this.#d;
    await this.responder();
    for (let round = 0; !this.#stopped; round++) {
      if (round > 0) await this.#pollBetween();
      const now = clock.now().getTime();
      const due = store.ocspResponses.dueForRefresh(new Date(now + this.options.ocspRefreshBeforeMs), new Date(now - this.options.expiredGraceMs), 500);
      // Replicas refresh their own partitions: a batch with none of ours is left to the others,
      // whose refreshes move it out of the way of ours by the next round.
      const mine = due.filter((serial) => this.#partitions.owns(serial));
      if (mine.length === 0) break;
      // Hours before nextUpdate: paced, so requests keep the loop (a response asked for meanwhile is served as stored).
      await this.#resign(mine, REFRESH_IDLE_RATIO);
    }
    this.crls.markDue();
    this.cache.evictExpired(clock.now().getTime());
  }

  /** Exposed for tests: runs one poll/maintenance round now. */
  async runMaintenance(): Promise<void> {
    await this.#serially(() => this.#maintain());
  }
  async runPoll(): Promise<void> {
    await this.#serially(() => this.#poll());
  }
}

function statusOfRecord(cert: CertRecord | null | undefined, issuerKeyId: string): CertStatusInfo {
  if (!cert || cert.issuer !== issuerKeyId) return { kind: 'unknown' };
  if (cert.status === 'valid') return { kind: 'good' };
  if (cert.status === 'revoked' && cert.revokedAt) return { kind: 'revoked', revokedAt: cert.revokedAt, reason: cert.reason };
  return { kind: 'unknown' }; // pending or failed: nothing was signed that anyone could hold
}

/** Audit events that can leave a certificate of ours without the right response. */
const STATUS_EVENTS = ['certificate.issued', 'certificate.revoked', 'ocsp.responder.issued'] as const;
/** Certificates looked at per step of start()'s scan (~10 ms at 1M), and the pause after each: at least 20 ms, and 9× what the step took (≤ 10% of the loop). */
const RECONCILE_WINDOW = 1000;
const RECONCILE_PAUSE_MS = 20;
export const RECONCILE_IDLE_RATIO = 9;
/** How often this replica renews its pre-signing partitions (their leases last 30 s). */
const PARTITION_RENEW_MS = 10_000;
/** Audit ids read per step of a poll's catch-up (ids are dense, so at most this many rows). */
const AUDIT_BATCH = 1000;

type StoredRow = Omit<StoredOcspResponse, 'seq'>;
/** Signing per slice of a background re-sign (~40 responses): short enough to keep the OCSP tail under a few ms. */
const RESIGN_SLICE_MS = 2;
/** A refresh (nextUpdate still hours away) takes at most 1 / (1 + ratio) of the loop: ~4 min of wall time for 1M due at once. */
const REFRESH_IDLE_RATIO = 3;
