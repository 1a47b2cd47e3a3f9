import { Worker } from 'node:worker_threads';
import { workerEntry } from '../domain/runtime-files.ts';
import { dialectOf, type Db } from './sql.ts';
import { inventoryFindings } from './tlog-audit.ts';

/** Below this many certificates a thread costs more to start than the check takes. */
const THREAD_FROM = 100_000;

/**
 * The inventory cross-check (tlog-audit.ts) started on another thread with its own read-only
 * connection, so it runs on the second core while the caller recomputes the tree: a million
 * entries verify in about half the wall time. Small databases are checked inline.
 */
export function startInventoryCheck(db: Db, o: { threadFrom?: number } = {}): () => Promise<string[]> {
  const count = (db.prepare('SELECT count(*) AS n FROM certificates').get() as { n: number }).n;
  // The thread opens the file with better-sqlite3: PostgreSQL (whose name is a URL without its password) is checked inline.
  if (count < (o.threadFrom ?? THREAD_FROM) || db.memory || dialectOf(db) !== 'sqlite') return async () => inventoryFindings(db);
  const result = new Promise<string[]>((resolve, reject) => {
    const worker = new Worker(workerEntry('inventory-worker'), { workerData: { path: db.name } });
    worker.once('message', (findings: string[]) => resolve(findings));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`inventory check thread exited with ${code}`))));
  });
  // Awaited by the caller after its own work; a rejection before then is not unhandled.
  result.catch(() => undefined);
  return () => result;
}
