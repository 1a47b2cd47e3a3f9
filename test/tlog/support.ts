import Database from 'better-sqlite3';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { initInstance, openInstance, type CaInstance } from '../../src/index.ts';
import { auditHash } from '../../src/store/audit.ts';
import { auditEntry, type AuditEntryFields } from '../../src/tlog/entry.ts';
import { buildLevels, leafHash } from '../../src/tlog/merkle.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';

export const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };

/** A fresh instance with `issued` leaves, the first of them revoked; closed (its checkpoint signed). Returns the dir and the serials. */
export async function seededInstance(base: string, name: string, issued = 3): Promise<{ dir: string; serials: string[] }> {
  const dir = join(base, name);
  await initInstance({ dir, passphrase: TEST_PASSPHRASE, name });
  const ca = await openInstance({ dir, env });
  const serials: string[] = [];
  try {
    for (let i = 0; i < issued; i++) serials.push((await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: `t${i}.tamper.test` }] })).pem)).serial);
    await ca.authority.revoke(serials[0]!, { reason: 'keyCompromise', actor: 'cli' });
  } finally {
    await ca.close();
  }
  return { dir, serials };
}

export function copyInstance(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

/** Raw write access to the database file, as an attacker holding it has: the append-only triggers dropped first. */
export function tamper(dir: string, fn: (db: Database.Database) => void): void {
  const db = new Database(join(dir, 'pki.db'));
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete; DROP TRIGGER IF EXISTS tlog_nodes_no_update; DROP TRIGGER IF EXISTS tlog_nodes_no_delete;');
    db.transaction(() => fn(db))();
  } finally {
    db.close();
  }
}

/** What a careful attacker does after editing events: recompute every chain hash and every stored tree node. */
export function rechainAndRebuild(db: Database.Database): void {
  const rows = db.prepare('SELECT id, at, action, actor, target, details FROM audit_events ORDER BY id').all() as AuditEntryFields[];
  let prev = '0'.repeat(64);
  const update = db.prepare('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE id = ?');
  for (const r of rows) {
    const h = auditHash(prev, r);
    update.run(prev, h, r.id);
    prev = h;
  }
  db.exec('DELETE FROM tlog_nodes');
  const levels = buildLevels(Buffer.concat(rows.map((r) => leafHash(auditEntry(r)))));
  const insert = db.prepare('INSERT INTO tlog_nodes (level, idx, hash) VALUES (?, ?, ?)');
  levels.forEach((l, level) => {
    for (let i = 0; i * 32 < l.length; i++) insert.run(level, i, l.subarray(i * 32, i * 32 + 32));
  });
}

/** Deletes leaf `index` and every stored node covering it (what removing the tail entry takes). */
export function deleteLeafAndParents(db: Database.Database, index: number): void {
  for (let level = 0; level < 40; level++) db.prepare('DELETE FROM tlog_nodes WHERE level = ? AND idx = ?').run(level, Math.floor(index / 2 ** level));
}

/** What `pki serve` does first: open, run the start check, try to sign; with the resulting checkpoint size. */
export async function startCheck(dir: string): Promise<{ ok: boolean; findings: string[]; refusal: string | null; issueError: string; signedAfter: number | null; before: number | null }> {
  const ca: CaInstance = await openInstance({ dir, env });
  try {
    const before = ca.store.audit.log.latestCheckpoint()?.size ?? null;
    const r = await ca.authority.log!.check();
    let issueError = '';
    await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'after.tamper.test' }] })).pem).catch((e: Error & { kind?: string }) => (issueError = `${e.kind}: ${e.message}`));
    await ca.authority.log!.signNow();
    return { ok: r.ok, findings: r.findings, refusal: ca.authority.log!.refusal, issueError, before, signedAfter: ca.store.audit.log.latestCheckpoint()?.size ?? null };
  } finally {
    await ca.close();
  }
}
