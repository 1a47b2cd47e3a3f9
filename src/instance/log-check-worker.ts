import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { treeFindings, type LogFindings } from '../authority/checkpoints.ts';
import { inventoryFindings } from '../store/tlog-audit.ts';
import { TlogRepository } from '../store/tlog.ts';
import { parseVerifierKey } from '../tlog/note.ts';

export interface LogCheckJob {
  path: string;
  job: 'tree' | 'inventory';
  /** The log's verifier key (C2SP note), for the tree half. */
  vkey: string;
}

// One half of `pki serve`'s log start check (log-check.ts) on its own read-only connection.
const { path, job, vkey } = workerData as LogCheckJob;
const db = new Database(path, { readonly: true, fileMustExist: true });
try {
  // One read transaction: a consistent snapshot while the serving process appends (its responder
  // certificate, revocations, another process's CLI). Without it the inventory would be read after
  // the events, and a certificate committed in between would look unlogged.
  const run = db.transaction((): LogFindings => (job === 'tree' ? treeFindings(db, new TlogRepository(db), parseVerifierKey(vkey)) : { size: 0, findings: inventoryFindings(db) }));
  parentPort!.postMessage(run());
} finally {
  db.close();
}
