import { CaError } from '../../domain/errors.ts';
import { packagePath } from '../../domain/runtime-files.ts';
import { loadMigrations } from '../sqlite.ts';
import { PgDb, redactUrl } from './pg-db.ts';

const MIGRATIONS_DIR = packagePath('src/store/postgres/migrations');

/** A `database` setting naming PostgreSQL rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens an instance's PostgreSQL database and brings its schema up to date (forward-only,
 * src/store/postgres/migrations). `create` is `pki init`: the database must hold no pki schema
 * yet, so two CAs never share one. Failures are CaErrors naming the database without its password.
 */
export function openPostgres(url: string, opts: { create?: boolean } = {}): PgDb {
  let db: PgDb | undefined;
  try {
    db = new PgDb(url);
    const has = holdsInstance(db);
    if (opts.create && has) throw new CaError('conflict', `database ${db.name}: already holds a pki instance: give pki init an empty database`);
    if (!opts.create && !has) throw new CaError('config', `database ${db.name}: holds no pki schema: run pki init --database with it first, or restore it`);
    migratePostgres(db);
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof CaError) throw e;
    throw new CaError('internal', `database ${redactUrl(url)}: ${(e as Error).message}`, { cause: e });
  }
}

/** `pki init`'s first step: the database is reachable and holds no pki instance (nothing is created or changed). */
export function assertNoInstancePostgres(url: string): void {
  const db = new PgDb(url);
  try {
    const has = holdsInstance(db);
    if (has) throw new CaError('conflict', `database ${db.name}: already holds a pki instance: give pki init an empty database`);
  } catch (e) {
    if (e instanceof CaError) throw e;
    throw new CaError('config', `database ${redactUrl(url)}: ${(e as Error).message}`, { cause: e });
  } finally {
    db.close();
  }
}

/** Whether the database already has a pki schema. */
function holdsInstance(db: PgDb): boolean {
  return (db.prepare("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").get() as { present: number }).present === 1;
}

/** Applies the migrations this pki knows, in one transaction under the write lock (replicas may start together). */
export function migratePostgres(db: PgDb, migrations = loadMigrations(MIGRATIONS_DIR)): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new CaError('config', `database schema version ${current} is newer than this pki knows (${latest}): upgrade pki, never downgrade a CA database`);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }
  })();
}
