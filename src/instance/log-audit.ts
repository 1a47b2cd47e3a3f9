import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CaError } from '../domain/errors.ts';
import { writeFileDurably } from '../domain/durable-file.ts';
import { startInventoryCheck } from '../store/inventory-check.ts';
import { recomputeLog } from '../store/tlog-audit.ts';
import { levelsReader } from '../tlog/merkle.ts';
import { openCheckpoint, parseVerifierKey } from '../tlog/note.ts';
import { checkpointFindings } from '../tlog/verify.ts';
import type { Inventory } from './inventory.ts';
import { LAYOUT } from './layout.ts';

export interface LogVerification {
  /** Entries in the log (audit events). */
  size: number;
  /** Size of the latest signed checkpoint, null when none was signed. */
  checkpointSize: number | null;
  /** Each thing that does not hold, with where: empty when the log, its checkpoint and the inventory agree. */
  findings: string[];
  /** Set when the instance's key store holds no log key (PKCS#11): the tree and inventory were checked, no checkpoint could be. */
  unsigned?: string;
}

/** The instance's log verifier key: `--vkey` text or file, else DIR/log.vkey. */
export async function readVerifierKey(dir: string, given?: string): Promise<string> {
  if (given && given.includes('+')) return given.trim();
  const path = given ?? join(dir, LAYOUT.logVerifierKey);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    throw new CaError('config', `no log verifier key at ${path}: pass --vkey (the key the witness pinned) or start pki serve once to write it`);
  }
}

/** Writes DIR/log.vkey when missing; a different key already there is a swapped key store or file. */
export async function publishVerifierKey(dir: string, vkey: string): Promise<void> {
  const path = join(dir, LAYOUT.logVerifierKey);
  const current = await readFile(path, 'utf8').then((t) => t.trim(), () => null);
  if (current === null) await writeFileDurably(path, `${vkey}\n`, { mode: 0o644 });
  else if (current !== vkey) throw new CaError('config', `${path} holds another log key (${current}) than the key store's (${vkey}): restore the matching key store or file`);
}

/**
 * `pki audit verify`: the hash chain, the Merkle tree recomputed from every audit event against
 * the stored one, the latest signed checkpoint (signature by `vkey`, size, root), and the
 * inventory against the log. Everything found is listed; nothing is repaired.
 */
export async function verifyLog(inv: Inventory, o: { vkey?: string } = {}): Promise<LogVerification> {
  // A key store that cannot hold the Ed25519 log key (PKCS#11) leaves the log unsigned: everything else is still checked.
  const unsigned = !o.vkey && inv.config.keyStore.type !== 'file' && !inv.store.audit.log.latestCheckpoint();
  const key = unsigned ? null : parseVerifierKey(await readVerifierKey(inv.dir, o.vkey));
  const findings: string[] = [];
  const inventory = startInventoryCheck(inv.store.db);
  const { size, levels, findings: tree } = recomputeLog(inv.store.db);
  findings.push(...tree);
  const last = inv.store.audit.log.latestCheckpoint();
  if (!key) {
    findings.push(...(await inventory()));
    return { size, checkpointSize: null, findings, unsigned: `the ${inv.config.keyStore.type} key store holds no log key, so no checkpoint is signed: a witness cannot hold this log to anything` };
  }
  if (!last) findings.push('no signed checkpoint in the database (checkpoints were deleted, or the log was never signed)');
  else {
    findings.push(...checkpointFindings(last.note, key, levelsReader(levels), size));
    try {
      const c = openCheckpoint(last.note, key);
      if (c.size !== last.size) findings.push(`checkpoint row ${last.size} holds a note for size ${c.size}`);
    } catch {
      // already reported by checkpointFindings
    }
  }
  findings.push(...(await inventory()));
  return { size, checkpointSize: last?.size ?? null, findings };
}
