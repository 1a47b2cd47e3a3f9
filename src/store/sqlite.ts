import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaError } from '../domain/errors.ts';
import { packagePath } from '../domain/runtime-files.ts';
import { dialectOf, type Db } from './sql.ts';

/** A better-sqlite3 connection: the embedded backend of sql.ts's SqlDb. */
export type SqliteDb = Database.Database;
export type { Db } from './sql.ts';

const MIGRATIONS_DIR = packagePath('src/store/migrations');

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered, forward-only migrations: `NNN_name.sql`, applied in order, each in one transaction. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f.slice(4, -4), sql: readFileSync(join(dir, f), 'utf8') }));
}

/**
 * Opens (creating if asked) the instance database with the pragmas a CA needs:
 * WAL for concurrent readers, foreign keys, a busy timeout for the CLI writing
 * while `pki serve` runs, and synchronous=FULL so an issuance commit survives power loss.
 * Whatever fails here is a CaError naming the database (never mistaken for a listener's failure).
 */
export function openDatabase(path: string, opts: { create?: boolean; readonly?: boolean } = {}): SqliteDb {
  let db: SqliteDb | undefined;
  try {
    db = new Database(path, { fileMustExist: !opts.create, readonly: opts.readonly ?? false });
    openedPaths.add(db.name);
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    connectionPragmas(db, 'FULL');
    // An existing instance's database has its schema: an empty (or emptied) file is not one to fill anew.
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").get() !== undefined;
    if (!opts.create && !has) {
      throw new CaError('config', `database ${path}: holds no pki schema (an empty or foreign file): restore it from a backup`);
    }
    // pki init on another instance's file would add a second CA to it (as on PostgreSQL, postgres/open.ts).
    if (opts.create && has) throw new CaError('conflict', `database ${path}: already holds a pki instance: give pki init a new file`);
    if (!opts.readonly) migrate(db);
    touchEveryTable(db);
    return db;
  } catch (e) {
    db?.close();
    throw databaseError(path, e);
  }
}

/**
 * Reads the first row of every table, so a damaged root page (or the first leaf) is met at open
 * and named as the database's, not later by a background job. Nothing at start reads whole tables
 * any more (the OCSP hot set loads on demand), so without this `pki serve` would start on a file
 * whose ocsp_responses table is unreadable. Microseconds per table; PRAGMA quick_check would read
 * every page (seconds at a million certificates).
 */
function touchEveryTable(db: SqliteDb): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const t of tables) db.prepare(`SELECT * FROM "${t.replaceAll('"', '""')}" LIMIT 1`).get();
}

/** Every database file this process opened: what a storage error met later is named by (databaseFailure). */
const openedPaths = new Set<string>();

/** What SQLite's result code tells an operator to do. */
const HINTS: Record<string, string> = {
  SQLITE_NOTADB: 'the file is damaged or not a database: restore it from a backup',
  SQLITE_CORRUPT: 'the file is damaged: restore it from a backup',
  SQLITE_FULL: 'the disk is full',
  SQLITE_READONLY: 'the file or its directory is read-only',
  SQLITE_CANTOPEN: 'the file or its directory cannot be opened',
  SQLITE_BUSY: 'another process holds it locked',
  SQLITE_IOERR: 'the disk failed to read or write',
};

function isSqliteError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && String((e as { code?: unknown }).code).startsWith('SQLITE_');
}

/** A failure of the database at `path` as a CaError that names it: `database <path>: <what> (<hint>)`. */
export function databaseError(path: string, e: unknown): CaError {
  if (e instanceof CaError) return e.detail.startsWith('database ') ? e : new CaError(e.kind, `database ${path}: ${e.detail}`, { cause: e });
  const message = (e as Error)?.message ?? String(e);
  const code = isSqliteError(e) ? e.code : '';
  // Extended codes (SQLITE_IOERR_SHORT_READ) take their primary code's hint.
  const primary = Object.keys(HINTS).find((k) => code === k || code.startsWith(`${k}_`));
  const hint = primary ? HINTS[primary] : undefined;
  return new CaError('internal', `database ${path}: ${message}${hint ? ` (${hint})` : ''}`, { cause: e });
}

/**
 * A storage error that reached the edge (a query on a page found damaged long after the open
 * succeeded) as a CaError naming this process's database, or null when `e` is no SQLite error.
 */
export function databaseFailure(e: unknown): CaError | null {
  if (!isSqliteError(e)) return null;
  return databaseError([...openedPaths].join(', ') || 'database', e);
}

/**
 * Another connection to an open (migrated, WAL) database, with the same pragmas and the given
 * durability: NORMAL where a commit may wait for an explicit WAL flush (group commit) or may be
 * lost to power loss only (ACME bookkeeping). A PostgreSQL database has one connection per process
 * (every COMMIT durable, no WAL file to flush): `main` itself.
 */
export function openConnection(main: Db, synchronous: 'NORMAL' | 'FULL'): Db {
  if (dialectOf(main) !== 'sqlite') return main;
  try {
    const db = new Database(main.name, { fileMustExist: true });
    connectionPragmas(db, synchronous);
    return db;
  } catch (e) {
    throw databaseError(main.name, e);
  }
}

/** The one place connection pragmas are set. */
function connectionPragmas(db: SqliteDb, synchronous: 'NORMAL' | 'FULL'): void {
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`synchronous = ${synchronous}`);
}

/**
 * `run(fn)` runs fn in one IMMEDIATE transaction (a SAVEPOINT when already inside one), with
 * better-sqlite3's semantics. `db.transaction(fn)` builds fresh wrapper functions on every
 * call, and these ran on every ACME request; one wrapper around a trampoline is built once.
 */
export function immediateTransactions(db: Db): <T>(fn: () => T) => T {
  let current: () => unknown = () => undefined;
  const tx = db.transaction(() => current());
  return <T>(fn: () => T): T => {
    const outer = current;
    current = fn;
    try {
      return tx.immediate() as T;
    } finally {
      current = outer;
    }
  };
}

export function migrate(db: SqliteDb, migrations = loadMigrations()): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const applied = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = applied.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new CaError('config', `database schema version ${current} is newer than this pki knows (${latest}): upgrade pki, never downgrade a CA database`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    })();
  }
}

export function schemaVersion(db: Db): number {
  return (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
}

/**
 * Repositories on one connection with its transaction wrapper built once (Store, AcmeStore):
 * `transaction(fn)` runs fn in one IMMEDIATE transaction, taking the write lock up front so
 * concurrent writers queue instead of failing; nested, it becomes a savepoint.
 */
export abstract class Repositories {
  readonly db: Db;
  readonly #transaction: <T>(fn: () => T) => T;

  constructor(db: Db) {
    this.db = db;
    this.#transaction = immediateTransactions(db);
  }

  transaction<T>(fn: () => T): T {
    return this.#transaction(fn);
  }
}
