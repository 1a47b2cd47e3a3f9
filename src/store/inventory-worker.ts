import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { inventoryFindings } from './tlog-audit.ts';

// Runs inventoryFindings on its own read-only connection and posts the findings (inventory-check.ts).
const db = new Database((workerData as { path: string }).path, { readonly: true, fileMustExist: true });
try {
  parentPort!.postMessage(inventoryFindings(db));
} finally {
  db.close();
}
