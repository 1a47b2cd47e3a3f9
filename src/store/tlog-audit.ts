import { hash } from 'node:crypto';
import { auditEntryText, type AuditEntryFields } from '../tlog/entry.ts';
import { auditHash, GENESIS } from './audit.ts';
import { buildLevels, leafHash } from '../tlog/merkle.ts';
import { sqlFor, type Db } from './sql.ts';

/** Findings are capped so a wholesale rewrite gives a readable report, not a million lines. */
const MAX_FINDINGS = 50;

export class Findings {
  readonly list: string[] = [];
  #more = 0;
  add(what: string): void {
    if (this.list.length < MAX_FINDINGS) this.list.push(what);
    else this.#more++;
  }
  all(): string[] {
    return this.#more ? [...this.list, `… and ${this.#more} more`] : this.list;
  }
}

/**
 * Recomputes the log from the audit trail (leaf i from event i+1) and compares every stored node
 * with it. `levels` (the recomputed tree) is what checkpoints are then checked against, so an
 * edited event is found even when its stored hashes were recomputed to match.
 */
export function recomputeLog(db: Db): { size: number; levels: Buffer[]; findings: string[] } {
  const findings = new Findings();
  const count = (db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;
  const leaves = Buffer.alloc(count * 32);
  let i = 0;
  // One pass over the events: the hash chain (audit.ts) and each leaf.
  let prev = GENESIS;
  let chainBroken = false;
  const rows = db.prepare('SELECT id, at, action, actor, target, details, prev_hash, hash FROM audit_events ORDER BY id').raw().iterate() as IterableIterator<[number, number, string, string, string | null, string, string, string]>;
  const e: AuditEntryFields = { id: 0, at: 0, action: '', actor: '', target: null, details: '' };
  for (const [id, at, action, actor, target, details, prevHash, rowHash] of rows) {
    // One object reused for every row (a million rows: no garbage per row).
    e.id = id;
    e.at = at;
    e.action = action;
    e.actor = actor;
    e.target = target;
    e.details = details;
    if (id !== i + 1) findings.add(`audit event ${i + 1}${id > i + 2 ? `–${id - 1}` : ''} missing (deleted): the next event present is ${id}`);
    if (!chainBroken && (prevHash !== prev || auditHash(prev, e) !== rowHash)) {
      chainBroken = true;
      findings.add(`audit trail broken at row ${id}: ${prevHash !== prev ? 'prev_hash does not match the previous row' : 'row content does not match its hash'}`);
    }
    prev = rowHash;
    (leafHash(auditEntryText(e)) as Buffer).copy(leaves, i * 32);
    i++;
  }
  const levels = buildLevels(leaves);
  // Stored nodes are compared inside SQLite against the recomputed level (one blob parameter):
  // only mismatches come back, instead of two million rows.
  const counts = new Map((db.prepare('SELECT level, count(*) AS n, coalesce(max(idx), -1) AS top FROM tlog_nodes GROUP BY level').all() as { level: number; n: number; top: number }[]).map((r) => [r.level, r]));
  const slice = sqlFor(db, { sqlite: 'substr(?, idx * 32 + 1, 32)', postgres: 'substring(?::bytea from (idx * 32 + 1)::int for 32)' });
  const mismatches = db.prepare(`SELECT idx FROM tlog_nodes WHERE level = ? AND idx < ? AND hash != ${slice} ORDER BY idx LIMIT 50`);
  levels.forEach((want, level) => {
    const expected = want.length / 32;
    const c = counts.get(level) ?? { n: 0, top: -1 };
    counts.delete(level);
    const what = level === 0 ? 'leaves' : `nodes at level ${level}`;
    const range = c.top > expected ? `${expected}–${c.top}` : `${expected}`;
    if (c.top >= expected) findings.add(level === 0 ? `log leaf ${range} has no audit event (events deleted from the end)` : `log ${what} ${range} lie beyond the tree of ${count} events`);
    const present = c.n - Math.max(0, c.top - expected + 1);
    if (present < expected) findings.add(`log ${what}: ${expected - present} of ${expected} missing`);
    for (const { idx } of mismatches.all(level, expected, want) as { idx: number }[]) {
      findings.add(level === 0 ? `log leaf ${idx} does not match audit event ${idx + 1} (the event or its leaf was altered)` : `log node ${level}/${idx} does not match the recomputed tree`);
    }
  });
  for (const [level, c] of counts) findings.add(`log nodes at level ${level} (${c.n}) lie beyond the tree of ${count} events`);
  return { size: count, levels, findings: findings.all() };
}

const ISSUED = new Set(['certificate.issued', 'ocsp.responder.issued']);
const FAILED = new Set(['certificate.failed', 'certificate.abandoned']);

/**
 * The inventory (certificates table) against what the log says happened to each serial: a
 * certificate valid or revoked without its issuance entry, with other bytes than were logged, or
 * whose status disagrees with the log's revocations, is reported by serial.
 */
export function inventoryFindings(db: Db): string[] {
  const findings = new Findings();
  const log = new Map<string, { sha256: string | null; issued: boolean; revoked: boolean }>();
  const events = db.prepare(
    `SELECT action, target, ${sqlFor(db, { sqlite: "json_extract(details, '$.sha256')", postgres: "(details::jsonb ->> 'sha256')" })} FROM audit_events WHERE target IS NOT NULL AND action IN ('certificate.issued', 'ocsp.responder.issued', 'certificate.revoked', 'certificate.failed', 'certificate.abandoned')`,
  );
  for (const [action, target, sha256] of events.raw().iterate() as IterableIterator<[string, string, string | null]>) {
    let s = log.get(target);
    if (!s) log.set(target, (s = { sha256: null, issued: false, revoked: false }));
    if (ISSUED.has(action)) {
      s.issued = true;
      s.sha256 = typeof sha256 === 'string' ? sha256 : null;
    } else if (!FAILED.has(action)) s.revoked = true;
  }
  for (const [serial, status, der] of db.prepare('SELECT serial, status, der FROM certificates').raw().iterate() as IterableIterator<[string, string, Buffer | null]>) {
    const s = log.get(serial);
    log.delete(serial);
    if (status === 'pending') continue;
    if (status === 'failed') {
      if (s?.issued) findings.add(`certificate ${serial}: the log records its issuance but the inventory says failed`);
      continue;
    }
    if (!s?.issued) {
      findings.add(`certificate ${serial}: ${status} in the inventory but the log has no issuance entry for it`);
      continue;
    }
    if (s.sha256 && der && hash('sha256', der, 'hex') !== s.sha256) findings.add(`certificate ${serial}: the stored DER is not the certificate the log records`);
    if (s.revoked && status !== 'revoked') findings.add(`certificate ${serial}: revoked in the log but ${status} in the inventory (un-revoked)`);
    if (!s.revoked && status === 'revoked') findings.add(`certificate ${serial}: revoked in the inventory but the log has no revocation entry`);
  }
  for (const [serial, s] of log) if (s.issued) findings.add(`certificate ${serial}: issued in the log but missing from the inventory (deleted)`);
  return findings.all();
}
