/**
 * What the repositories need of a database connection: the part of better-sqlite3's synchronous
 * API they use. SQLite (better-sqlite3 itself, the embedded default) and PostgreSQL
 * (postgres/pg-db.ts, for replicas) both provide it, so one set of repositories, one set of SQL
 * and one contract suite serve both backends (docs/design.md, Storage backends).
 *
 * SQL written for both: `?` placeholders, `ON CONFLICT … DO NOTHING|UPDATE` (not INSERT OR …),
 * no SQLite-only functions; where a query must differ (JSON functions), `dialectOf(db)` picks it.
 */
export interface SqlRunResult {
  changes: number;
}

export interface SqlStatement {
  run(...params: unknown[]): SqlRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Rows as their first column's value. */
  pluck(toggle?: boolean): SqlStatement;
  /** Rows as arrays of column values, in SELECT order. */
  raw(toggle?: boolean): SqlStatement;
}

/** A function run in one transaction: `immediate` takes the write lock up front (one writer at a time). */
export interface SqlTransaction<T> {
  (): T;
  immediate(): T;
}

export interface SqlDb {
  /** What errors name: a file path, or a PostgreSQL URL without its password. */
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly memory: boolean;
  prepare(sql: string): SqlStatement;
  transaction<T>(fn: () => T): SqlTransaction<T>;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(sql: string): unknown;
  close(): unknown;
  /**
   * A backend shared by several processes (PostgreSQL) counts committed changes to a table whose
   * rows a repository caches (acme_accounts): the cache is good while the count stays the same.
   * Absent on SQLite, where one process writes those rows and drops its cache itself.
   */
  tableVersion?(table: string): number;
}

export type Db = SqlDb;

export type Dialect = 'sqlite' | 'postgres';

/** Set by a backend whose SQL differs from SQLite's (postgres/pg-db.ts). */
export const DIALECT: unique symbol = Symbol('pki.sql.dialect');

export function dialectOf(db: SqlDb): Dialect {
  return (db as { [DIALECT]?: Dialect })[DIALECT] ?? 'sqlite';
}

/** A unique or primary-key violation, in either backend's words (SQLite's code, PostgreSQL's SQLSTATE 23505). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** Any constraint violation (unique, check, foreign key, not null), in either backend's words. */
export function isConstraintViolation(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? '');
  return code.startsWith('SQLITE_CONSTRAINT') || /^23\d{3}$/.test(code);
}

/** The statement text for `db`'s backend, where the two cannot share one (JSON and blob functions, join hints). */
export function sqlFor(db: SqlDb, sql: Record<Dialect, string>): string {
  return sql[dialectOf(db)];
}
