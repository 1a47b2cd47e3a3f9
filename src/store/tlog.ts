import { CaError } from '../domain/errors.ts';
import { auditEntry, auditEntryText, type AuditEntryFields } from '../tlog/entry.ts';
import { leafHash, nodeHash, type Hash, type NodeReader } from '../tlog/merkle.ts';
import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

export interface StoredCheckpoint {
  size: number;
  note: string;
  signedAt: Date;
}

/** How many signed checkpoints are kept (one per second while the log grows); witnesses keep their own. */
const KEEP_CHECKPOINTS = 1000;

/**
 * The transparency log's tree (tlog_nodes) and signed checkpoints. Leaf i is audit event i+1;
 * `appendEvent` runs inside the audit row's transaction (AuditRepository.append), so no act is
 * committed without its leaf.
 */
export class TlogRepository {
  readonly #statements: StatementCache;
  constructor(db: Db) {
    this.#statements = new StatementCache(db);
  }

  size(): number {
    return (this.#statements.get('SELECT coalesce(max(idx) + 1, 0) AS n FROM tlog_nodes WHERE level = 0').get() as { n: number }).n;
  }

  /** Appends the leaf of audit event `e` (index e.id - 1), first any earlier events without one (a database from before the log). */
  appendEvent(e: AuditEntryFields): void {
    let size = this.size();
    if (size > e.id - 1) {
      throw new CaError('conflict', `transparency log already holds ${size} entries but the audit trail is at event ${e.id}: the database was altered (run pki audit verify)`);
    }
    // Leaves of earlier events are missing only in a database from before the log (#17): read them only
    // then, a page at a time (SQLite cannot insert on a connection while a statement of it still iterates).
    const older = this.#statements.get('SELECT id, at, action, actor, target, details FROM audit_events WHERE id > ? AND id < ? ORDER BY id LIMIT 1000');
    while (size < e.id - 1) {
      const page = older.all(size, e.id) as AuditEntryFields[];
      if (page.length === 0) break;
      for (const row of page) this.#appendLeaf(size++, auditEntryText(row));
    }
    this.#appendLeaf(size, auditEntryText(e));
  }

  /** Inserts the leaf and every subtree it completes (RFC 9162 §2.1.1 structure); the entry as text, hashed as its UTF-8 bytes in one shot. */
  #appendLeaf(index: number, entry: string): void {
    const insert = this.#statements.get('INSERT INTO tlog_nodes (level, idx, hash) VALUES (?, ?, ?)');
    let h = leafHash(entry);
    insert.run(0, index, h);
    for (let level = 0, i = index; i % 2 === 1; level++, i = (i - 1) / 2) {
      h = nodeHash(this.node(level, i - 1), h);
      insert.run(level + 1, (i - 1) / 2, h);
    }
  }

  node(level: number, index: number): Hash {
    const r = this.#statements.get('SELECT hash FROM tlog_nodes WHERE level = ? AND idx = ?').get(level, index) as { hash: Buffer } | undefined;
    if (!r) throw new CaError('conflict', `transparency log node ${level}/${index} is missing: the database was altered (run pki audit verify)`);
    return r.hash;
  }

  readonly reader: NodeReader = (level, index) => this.node(level, index);

  /** `count` stored hashes of `level` from `from`, concatenated (a tile's contents); fewer when the table lacks them. */
  hashes(level: number, from: number, count: number): Buffer {
    const rows = this.#statements.get('SELECT hash FROM tlog_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx').all(level, from, from + count) as { hash: Buffer }[];
    return Buffer.concat(rows.map((r) => r.hash));
  }

  /** The entries of leaves [from, from+count), from their audit events. */
  entries(from: number, count: number): Buffer[] {
    return (this.#statements.get('SELECT id, at, action, actor, target, details FROM audit_events WHERE id > ? AND id <= ? ORDER BY id').all(from, from + count) as AuditEntryFields[]).map(auditEntry);
  }

  /** The leaf index of the event that issued certificate `serial`, or null. */
  issuanceIndex(serial: string): number | null {
    const r = this.#statements
      .get("SELECT id FROM audit_events WHERE target = ? AND action IN ('certificate.issued', 'ocsp.responder.issued') ORDER BY id LIMIT 1")
      .get(serial) as { id: number } | undefined;
    return r ? r.id - 1 : null;
  }

  latestCheckpoint(): StoredCheckpoint | null {
    const r = this.#statements.get('SELECT size, note, signed_at FROM tlog_checkpoints ORDER BY size DESC LIMIT 1').get() as { size: number; note: string; signed_at: number } | undefined;
    return r ? { size: r.size, note: r.note, signedAt: new Date(r.signed_at) } : null;
  }

  checkpointAt(size: number): StoredCheckpoint | null {
    const r = this.#statements.get('SELECT size, note, signed_at FROM tlog_checkpoints WHERE size = ?').get(size) as { size: number; note: string; signed_at: number } | undefined;
    return r ? { size: r.size, note: r.note, signedAt: new Date(r.signed_at) } : null;
  }

  saveCheckpoint(c: StoredCheckpoint): void {
    this.#statements.get('INSERT INTO tlog_checkpoints (size, note, signed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(c.size, c.note, c.signedAt.getTime());
    this.#statements.get('DELETE FROM tlog_checkpoints WHERE size < (SELECT size FROM tlog_checkpoints ORDER BY size DESC LIMIT 1 OFFSET ?)').run(KEEP_CHECKPOINTS - 1);
  }
}
