import { createSyncFn } from 'synckit';
import { workerEntryPath } from '../../domain/runtime-files.ts';
import { DIALECT, type SqlDb, type SqlRunResult, type SqlStatement, type SqlTransaction } from '../sql.ts';
import { CHANGE_SLOTS, CHANGES_SLOT, TABLE_SLOTS, type PgReply, type PgRequest } from './protocol.ts';
import { bindParams, compileSql, type CompiledSql } from './placeholders.ts';

const WORKER = workerEntryPath('pg-worker');

/** The channel every replica LISTENs on; triggers NOTIFY it when shared state changes (see migrations). */
export const CHANGE_CHANNEL = 'pki_changes';

/**
 * The advisory lock every write transaction takes first: PostgreSQL transactions then run one at a
 * time across all replicas, as SQLite's IMMEDIATE transactions do across processes, so every
 * read-then-write the repositories do (serial reservation, the audit chain's next id and hash, an
 * order's state change, a fleet key's account count) keeps the guarantee it was written for.
 * Reads and single-statement writes outside a transaction do not take it.
 */
const WRITE_LOCK = 0x706b69; // "pki"

/** A PostgreSQL error as the repositories meet it: message, SQLSTATE `code`, detail. */
export class PgError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string, detail?: string) {
    super(detail ? `${message} (${detail})` : message);
    this.name = 'PgError';
    this.code = code;
  }
}

/** postgres://user:secret@host/db → postgres://user@host/db: what messages and logs may show. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** Blocks the calling thread until the connection thread answers (synckit: Atomics.wait). */
type Call = (req: PgRequest) => PgReply;

/** Each PgDb's connection id on the process's one connection thread (synckit shares it per worker file). */
let nextConnection = 1;

/** A request without its connection id (PgDb.request adds it). */
type Request = PgRequest extends infer R ? (R extends PgRequest ? Omit<R, 'conn'> : never) : never;

/**
 * The repositories' connection (sql.ts SqlDb) on PostgreSQL. Each call blocks the caller's thread
 * for one round trip to a connection thread (pg-worker.ts, node-postgres), which keeps the
 * repositories synchronous, as they are on SQLite; a replica's event loop waits on PostgreSQL the
 * way it waits on SQLite's disk (docs/design.md, Storage backends).
 */
export class PgDb implements SqlDb {
  readonly [DIALECT] = 'postgres' as const;
  readonly name: string;
  readonly memory = false;
  readonly url: string;
  readonly #call: Call;
  readonly #conn = nextConnection++;
  readonly #changes = new Int32Array(new SharedArrayBuffer(4 * CHANGE_SLOTS));
  #open = true;
  #depth = 0;
  /** A transaction is open on the server: from BEGIN until its COMMIT or ROLLBACK returns. */
  #serverTx = false;
  #busyTimeout = 5000;

  constructor(url: string) {
    this.url = url;
    this.name = redactUrl(url);
    const call = createSyncFn<(req: PgRequest) => Promise<PgReply>>(WORKER, { timeout: 60_000 });
    this.#call = call;
    this.request({ op: 'connect', url, changes: this.#changes.buffer as SharedArrayBuffer, channel: CHANGE_CHANNEL });
  }

  get open(): boolean {
    return this.#open;
  }

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  /** One request to the connection thread; a PostgreSQL error is thrown as a PgError. */
  request(req: Request): PgReply {
    if (!this.#open) throw new PgError(`database ${this.name} is closed`);
    const reply = this.#call({ ...req, conn: this.#conn, inTransaction: this.#serverTx } as PgRequest);
    if (reply.error) throw new PgError(reply.error.message, reply.error.code, reply.error.detail);
    return reply;
  }

  prepare(sql: string): SqlStatement {
    return new PgStatement(this, compileSql(sql), 'object');
  }

  exec(sql: string): this {
    this.request({ op: 'exec', sql });
    return this;
  }

  transaction<T>(fn: () => T): SqlTransaction<T> {
    const run = (): T => this.#inTransaction(fn);
    return Object.assign(run, { immediate: run });
  }

  /**
   * Outermost: BEGIN and the write lock in one round trip; nested: a savepoint, as better-sqlite3 does.
   * A connection lost meanwhile fails every later statement of the transaction, COMMIT included
   * (the connection thread never reconnects inside one), so its work is never half committed.
   */
  #inTransaction<T>(fn: () => T): T {
    const depth = this.#depth;
    this.exec(depth === 0 ? `BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})` : `SAVEPOINT s${depth}`);
    if (depth === 0) this.#serverTx = true;
    this.#depth = depth + 1;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.#depth = depth;
      try {
        this.exec(depth === 0 ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT s${depth}; RELEASE SAVEPOINT s${depth}`);
      } catch {
        // The connection is gone: PostgreSQL rolled back with it. The first error is the one to report.
      } finally {
        if (depth === 0) this.#serverTx = false;
      }
      throw e;
    }
    this.#depth = depth;
    try {
      this.exec(depth === 0 ? 'COMMIT' : `RELEASE SAVEPOINT s${depth}`);
    } finally {
      if (depth === 0) this.#serverTx = false;
    }
    return result;
  }

  /**
   * SQLite pragmas the repositories use, in PostgreSQL's terms: `data_version` (has another
   * connection committed?) is the count of change notifications received; durability and journal
   * settings have no counterpart (every COMMIT is durable); busy_timeout is kept for its readers.
   */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const [name, value] = source.split('=').map((s) => s.trim());
    if (name === 'data_version') return options.simple ? Atomics.load(this.#changes, CHANGES_SLOT) : [{ data_version: Atomics.load(this.#changes, CHANGES_SLOT) }];
    if (name === 'busy_timeout') {
      if (value !== undefined) this.#busyTimeout = Number(value);
      return options.simple ? this.#busyTimeout : [{ timeout: this.#busyTimeout }];
    }
    if (['synchronous', 'journal_mode', 'foreign_keys'].includes(name ?? '')) return undefined;
    throw new PgError(`pragma ${name} has no PostgreSQL counterpart`);
  }

  /**
   * How many times another connection (or this one) committed a change to `table`, as far as
   * notifications have told this one: a cache of that table's rows is good while it stays the same.
   * Only for tables with a slot (protocol.ts TABLE_SLOTS); the count also moves on a reconnect.
   */
  tableVersion(table: string): number {
    const slot = TABLE_SLOTS[table];
    if (slot === undefined) throw new PgError(`table ${table} has no change counter`);
    return Atomics.load(this.#changes, slot);
  }

  close(): void {
    if (!this.#open) return;
    try {
      this.request({ op: 'close' });
    } finally {
      this.#open = false;
    }
  }
}

class PgStatement implements SqlStatement {
  readonly #db: PgDb;
  readonly #sql: CompiledSql;
  #mode: 'object' | 'array' | 'pluck';

  constructor(db: PgDb, sql: CompiledSql, mode: 'object' | 'array' | 'pluck') {
    this.#db = db;
    this.#sql = sql;
    this.#mode = mode;
  }

  #query(params: unknown[]): PgReply {
    return this.#db.request({ op: 'query', sql: this.#sql.text, params: bindParams(this.#sql, params), rowMode: this.#mode === 'object' ? 'object' : 'array' });
  }

  #rows(params: unknown[]): unknown[] {
    const rows = (this.#query(params).rows ?? []).map(buffers);
    return this.#mode === 'pluck' ? rows.map((r) => (r as unknown[])[0]) : rows;
  }

  run(...params: unknown[]): SqlRunResult {
    return { changes: this.#query(params).changes ?? 0 };
  }

  get(...params: unknown[]): unknown {
    return this.#rows(params)[0];
  }

  all(...params: unknown[]): unknown[] {
    return this.#rows(params);
  }

  /** The whole result at once: callers that iterate very large tables page by keyset instead. */
  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.#rows(params)[Symbol.iterator]();
  }

  pluck(toggle = true): this {
    this.#mode = toggle ? 'pluck' : 'object';
    return this;
  }

  raw(toggle = true): this {
    this.#mode = toggle ? 'array' : 'object';
    return this;
  }
}

/** bytea values crossed the thread boundary as Uint8Array: back to the Buffers callers expect. */
function buffers(row: unknown): unknown {
  if (Array.isArray(row)) return row.map(buffer);
  const r = row as Record<string, unknown>;
  for (const k in r) r[k] = buffer(r[k]);
  return r;
}

function buffer(v: unknown): unknown {
  return v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}
