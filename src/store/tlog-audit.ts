import { createHash } from 'node:crypto';
import { auditEntry, type AuditEntryFields } from '../tlog/entry.ts';
import { buildLevels, leafHash } from '../tlog/merkle.ts';
import type { Db } from './sqlite.ts';

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
  for (const e of db.prepare('SELECT id, at, action, actor, target, details FROM audit_events ORDER BY id').iterate() as IterableIterator<AuditEntryFields>) {
    if (e.id !== i + 1) findings.add(`audit event ${i + 1}${e.id > i + 2 ? `–${e.id - 1}` : ''} missing (deleted): the next event present is ${e.id}`);
    (leafHash(auditEntry(e)) as Buffer).copy(leaves, i * 32);
    i++;
  }
  const levels = buildLevels(leaves);
  const stored = db.prepare('SELECT level, idx, hash FROM tlog_nodes ORDER BY level, idx').raw().iterate() as IterableIterator<[number, number, Buffer]>;
  const seen = levels.map(() => 0);
  for (const [level, idx, hash] of stored) {
    const want = levels[level];
    if (!want || (idx + 1) * 32 > want.length) {
      findings.add(level === 0 ? `log leaf ${idx} has no audit event ${idx + 1} (events deleted from the end)` : `log node ${level}/${idx} lies beyond the tree of ${count} events`);
      continue;
    }
    if (idx !== seen[level]) findings.add(`log ${level === 0 ? 'leaves' : `nodes at level ${level}`} ${seen[level]}–${idx - 1} missing`);
    seen[level] = idx + 1;
    if (!hash.equals(want.subarray(idx * 32, idx * 32 + 32))) {
      findings.add(level === 0 ? `log leaf ${idx} does not match audit event ${idx + 1} (the event or its leaf was altered)` : `log node ${level}/${idx} does not match the recomputed tree`);
    }
  }
  levels.forEach((l, level) => {
    if (seen[level]! < l.length / 32) findings.add(`log ${level === 0 ? 'leaves' : `nodes at level ${level}`} ${seen[level]}–${l.length / 32 - 1} missing`);
  });
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
  const log = new Map<string, { sha256: string | null; issued: boolean; revoked: boolean; failed: boolean }>();
  const events = db.prepare("SELECT action, target, details FROM audit_events WHERE target IS NOT NULL AND action IN ('certificate.issued', 'ocsp.responder.issued', 'certificate.revoked', 'certificate.failed', 'certificate.abandoned')");
  for (const e of events.iterate() as IterableIterator<{ action: string; target: string; details: string }>) {
    const s = log.get(e.target) ?? { sha256: null, issued: false, revoked: false, failed: false };
    if (ISSUED.has(e.action)) {
      s.issued = true;
      s.sha256 = (JSON.parse(e.details) as { sha256?: string }).sha256 ?? null;
    } else if (FAILED.has(e.action)) s.failed = true;
    else s.revoked = true;
    log.set(e.target, s);
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
    if (s.sha256 && der && createHash('sha256').update(der).digest('hex') !== s.sha256) findings.add(`certificate ${serial}: the stored DER is not the certificate the log records`);
    if (s.revoked && status !== 'revoked') findings.add(`certificate ${serial}: revoked in the log but ${status} in the inventory (un-revoked)`);
    if (!s.revoked && status === 'revoked') findings.add(`certificate ${serial}: revoked in the inventory but the log has no revocation entry`);
  }
  for (const [serial, s] of log) if (s.issued) findings.add(`certificate ${serial}: issued in the log but missing from the inventory (deleted)`);
  return findings.all();
}
