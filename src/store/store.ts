import { AuditRepository } from './audit.ts';
import { CertificateLineageRepository } from './certificate-lineage.ts';
import { CertificateRepository } from './certificates.ts';
import { CertificateInventory } from './certificate-inventory.ts';
import { CrlRepository } from './crls.ts';
import { OcspResponderRepository } from './ocsp-responders.ts';
import { OcspResponseRepository } from './ocsp-responses.ts';
import { LeaseRepository } from './leases.ts';
import { RateBucketRepository } from './rate-buckets.ts';
import { existsSync, statSync } from 'node:fs';
import { assertNoInstancePostgres, isPostgresUrl, openPostgres } from './postgres/open.ts';
import { dialectOf } from './sql.ts';
import { CaError } from '../domain/errors.ts';
import { openConnection, openDatabase, Repositories, type Db, type SqliteDb } from './sqlite.ts';
import { WalFlusher, type DataSync } from './wal-flush.ts';

/** The instance database: one repository per aggregate, and transactions that span them. */
export class Store extends Repositories {
  readonly certificates: CertificateRepository;
  readonly audit: AuditRepository;
  readonly ocspResponses: OcspResponseRepository;
  readonly ocspResponders: OcspResponderRepository;
  readonly crls: CrlRepository;
  /** Renewal lineage of certificates (replaces, lineage start): written with the `valid` row. */
  readonly lineage: CertificateLineageRepository;
  /** Listing and counting at fleet scale (`pki certs list` / `stats`). */
  readonly inventory: CertificateInventory;
  /** Background work held by one replica at a time (#22). */
  readonly leases: LeaseRepository;
  /** Rate-limit buckets shared by replicas (#22). */
  readonly rateBuckets: RateBucketRepository;
  readonly #flusher: WalFlusher | null;

  /** With a flusher, `db` runs synchronous=NORMAL and `durably` syncs the WAL itself (group commit). */
  constructor(db: Db, o: { flusher?: WalFlusher } = {}) {
    super(db);
    this.#flusher = o.flusher ?? null;
    this.certificates = new CertificateRepository(db);
    this.audit = new AuditRepository(db);
    this.ocspResponses = new OcspResponseRepository(db);
    this.ocspResponders = new OcspResponderRepository(db);
    this.crls = new CrlRepository(db);
    this.lineage = new CertificateLineageRepository(db);
    this.inventory = new CertificateInventory(db);
    this.leases = new LeaseRepository(db);
    this.rateBuckets = new RateBucketRepository(db);
  }

  /** True on PostgreSQL, where other `pki serve` replicas may share the database (#22). */
  get shared(): boolean {
    return dialectOf(this.db) === 'postgres';
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction and resolves once the commit is on disk: at once on a
   * synchronous=FULL connection, after a shared WAL flush on a group-commit one (openGroupCommitStore).
   * Whatever must never be lost once acted upon (a reserved serial before signing, a certificate
   * before handing it out, a revocation before answering) goes through here.
   */
  async durably<T>(fn: () => T): Promise<T> {
    const result = this.transaction(fn);
    await this.#flusher?.flush();
    return result;
  }

  /**
   * Runs `fn` in one transaction committed without waiting for the disk (synchronous=NORMAL for
   * this commit: it survives a process crash, and only power loss can take it back). Only for rows
   * rebuilt from others when missing, such as pre-signed OCSP responses (the status service re-signs
   * any certificate whose stored response is missing or says the wrong status).
   */
  relaxed<T>(fn: () => T): T {
    if (this.#flusher) return this.transaction(fn);
    // Not a prepared statement: SQLite applies PRAGMA synchronous when it compiles it.
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** SQLite's online backup into `file` (safe while pki serve runs). PostgreSQL is backed up with its own tools. */
  async backupTo(file: string): Promise<void> {
    if (dialectOf(this.db) !== 'sqlite') throw new CaError('config', `database ${this.db.name} is PostgreSQL: back it up with pg_dump or the server's own backups (docs/operations.md, Replicas on PostgreSQL)`);
    await (this.db as SqliteDb).backup(file);
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.#flusher?.close();
  }
}

/**
 * `pki init`'s check before it creates anything: the database at `location` holds no pki instance
 * (a PostgreSQL database must also be reachable), so a refused init leaves no half-made directory.
 */
export function assertNoInstance(location: string): void {
  if (isPostgresUrl(location)) return assertNoInstancePostgres(location);
  if (!existsSync(location) || statSync(location).size === 0) return;
  let instance = false;
  try {
    openDatabase(location, { readonly: true }).close();
    instance = true;
  } catch {
    // not a pki database (or not SQLite at all): refused all the same
  }
  throw new CaError('conflict', `database ${location}: ${instance ? 'already holds a pki instance' : 'the file exists and is not a pki database'}: give pki init a new file`);
}

/** Opens the instance database at `location`: a SQLite file path, or a postgres:// URL (replicas). */
export function openStore(location: string, opts: { create?: boolean } = {}): Store {
  return new Store(isPostgresUrl(location) ? openPostgres(location, opts) : openDatabase(location, opts));
}

/**
 * A second connection to `main`'s database for the authority's writes, with group commit:
 * synchronous=NORMAL plus an explicit fdatasync of the -wal file awaited by `durably`, so a commit is
 * as durable as under synchronous=FULL before anything acts on it, but the disk wait leaves the
 * event loop and concurrent issuances share one flush (docs/design.md, Durability).
 */
export function openGroupCommitStore(main: Db, o: { sync?: DataSync } = {}): Store {
  // PostgreSQL: every COMMIT is durable when it returns, and a process has one connection.
  if (dialectOf(main) === 'postgres') return new Store(main);
  return new Store(openConnection(main, 'NORMAL'), { flusher: new WalFlusher(main.name, o) });
}
