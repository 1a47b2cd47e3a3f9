import { hash } from 'node:crypto';
import { sqlFor, type Db } from './sql.ts';
import { immediateTransactions } from './sqlite.ts';
import { StatementCache } from './statements.ts';
import { TlogRepository } from './tlog.ts';
import type { AuditEntryFields } from '../tlog/entry.ts';

export interface AuditEvent {
  id: number;
  at: Date;
  action: string;
  actor: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** A stored row: the fields its log entry covers (tlog/entry.ts) and the chain's two hashes. */
interface AuditRow extends AuditEntryFields {
  prev_hash: string;
  hash: string;
}

export const GENESIS = '0'.repeat(64);

/** The hash of a row covers its content and the previous row's hash, so editing any row breaks every later link. */
export function auditHash(prevHash: string, e: { id: number; at: number; action: string; actor: string; target: string | null; details: string }): string {
  return hash('sha256', JSON.stringify([prevHash, e.id, e.at, e.action, e.actor, e.target, e.details]), 'hex');
}

/** Append-only audit trail (the table refuses UPDATE and DELETE by trigger). */
export class AuditRepository {
  readonly #statements: StatementCache;
  /** The transparency log over these events (#17): each append adds its leaf in the same transaction. */
  readonly log: TlogRepository;
  /** One IMMEDIATE transaction (a savepoint inside the caller's): the row and its leaf commit together. */
  readonly #append: (e: Parameters<AuditRepository['append']>[0]) => AuditEvent;
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
    this.#statements = new StatementCache(db);
    this.log = new TlogRepository(db);
    // One transaction wrapper built once (sqlite.ts immediateTransactions), not better-sqlite3's fresh set of wrappers per event.
    const run = immediateTransactions(db);
    this.#append = (e) => run(() => this.#appendNow(e));
  }

  /** Appends an event and its transparency-log leaf; call inside the transaction of the change it records. */
  append(e: { at: Date; action: string; actor: string; target?: string | null; details?: Record<string, unknown> }): AuditEvent {
    return this.#append(e);
  }

  #appendNow(e: { at: Date; action: string; actor: string; target?: string | null; details?: Record<string, unknown> }): AuditEvent {
    const last = this.#statements.get('SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1').get() as { id: number; hash: string } | undefined;
    const row = {
      id: (last?.id ?? 0) + 1,
      at: e.at.getTime(),
      action: e.action,
      actor: e.actor,
      target: e.target ?? null,
      details: JSON.stringify(e.details ?? {}),
    };
    const prevHash = last?.hash ?? GENESIS;
    const hash = auditHash(prevHash, row);
    this.#statements.get('INSERT INTO audit_events (id, at, action, actor, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.id, row.at, row.action, row.actor, row.target, row.details, prevHash, hash);
    this.log.appendEvent(row);
    return toEvent({ ...row, prev_hash: prevHash, hash });
  }

  /** The id of the newest event (0 when there is none): a high-water mark for `targetsBetween`. */
  lastId(): number {
    return (this.#statements.get('SELECT coalesce(max(id), 0) AS id FROM audit_events').get() as { id: number }).id;
  }

  /**
   * Targets of the events with `after < id <= upTo` whose action is one of `actions`, in id order
   * (a range of the primary key: the cost follows the number of events in the range, not the table).
   * Ids grow in commit order (each is the previous maximum + 1, taken inside the write transaction),
   * so once `upTo` has been read no event with a smaller id can still appear.
   */
  targetsBetween(after: number, upTo: number, actions: readonly string[]): string[] {
    return (
      this.#statements
        .get(`SELECT target FROM audit_events WHERE id > ? AND id <= ? AND target IS NOT NULL AND action IN (${sqlFor(this.#db, { sqlite: 'SELECT value FROM json_each(?)', postgres: 'SELECT jsonb_array_elements_text(?::jsonb)' })}) ORDER BY id`)
        .all(after, upTo, JSON.stringify(actions)) as { target: string }[]
    ).map((r) => r.target);
  }

  list(opts: { since?: Date; target?: string; limit?: number } = {}): AuditEvent[] {
    const since = opts.since?.getTime() ?? 0;
    const limit = opts.limit ?? 1_000_000;
    // By target through audit_events_by_target (migration 013): `pki serve` reads the config's
    // events at start, and a scan of a million issuance events took seconds (#21).
    const rows = (
      opts.target === undefined
        ? this.#statements.get('SELECT * FROM audit_events WHERE at >= ? ORDER BY id ASC LIMIT ?').all(since, limit)
        : this.#statements.get('SELECT * FROM audit_events WHERE target = ? AND at >= ? ORDER BY id ASC LIMIT ?').all(opts.target, since, limit)
    ) as AuditRow[];
    return rows.map(toEvent);
  }

  /** Walks the chain; returns the id of the first row whose link or hash does not hold, or null. */
  verifyChain(): { ok: true; count: number } | { ok: false; brokenId: number; reason: string } {
    let prev = GENESIS;
    let count = 0;
    for (const r of this.#statements.get('SELECT * FROM audit_events ORDER BY id ASC').iterate() as IterableIterator<AuditRow>) {
      if (r.prev_hash !== prev) return { ok: false, brokenId: r.id, reason: 'prev_hash does not match the previous row' };
      if (auditHash(prev, r) !== r.hash) return { ok: false, brokenId: r.id, reason: 'row content does not match its hash' };
      prev = r.hash;
      count++;
    }
    return { ok: true, count };
  }
}

function toEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    at: new Date(r.at),
    action: r.action,
    actor: r.actor,
    target: r.target,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
