import { Worker } from 'node:worker_threads';
import type { LogCheck, LogFindings } from '../authority/checkpoints.ts';
import type { Logger } from '../domain/log.ts';
import { workerEntry } from '../domain/runtime-files.ts';
import type { LogCheckJob } from './log-check-worker.ts';
import type { CaInstance } from './open.ts';

/** From this many log entries the check runs on threads while the server answers; below it takes milliseconds, inline. */
const THREAD_FROM = 20_000;

export interface LogCheckOptions {
  /** Log size from which the check runs on threads (tests: 0). */
  threadFrom?: number;
  /** Awaited after the threads report, before the verdict applies: tests hold the check open with it. */
  beforeVerdict?: () => Promise<void>;
}

export interface StartedLogCheck {
  /** False when the check runs inline: await `verdict` before anything is signed (a small log). */
  background: boolean;
  /** The verdict, once applied (null: no log key, nothing to check). */
  verdict: Promise<LogCheck | null>;
  /**
   * Once the server listens: after a passing verdict a checkpoint for what a crash left unsigned,
   * then one per second at most while the log grows. Awaits that for an inline check; a
   * background one does it when its verdict comes.
   */
  serving(): Promise<void>;
  /** Ends the threads of a check still running (its verdict is then a refusal: nothing unchecked is ever signed). */
  stop(): Promise<void>;
}

/**
 * `pki serve`'s transparency-log start check (#17) without holding the listeners (#21): the
 * checkpointer holds the stored tree to its last signed checkpoint at once (a changed signed prefix
 * is refused before anything is signed) and holds issuance until the full check passes. The full
 * recompute (tree) and the inventory cross-check each run on a thread of their own, on their own
 * read-only connection in one read transaction, so the main thread keeps answering OCSP and ACME.
 */
export function startLogCheck(ca: Pick<CaInstance, 'authority' | 'store' | 'keyStore'>, logger: Logger, o: LogCheckOptions = {}): StartedLogCheck {
  const log = ca.authority.log;
  const db = ca.store.db;
  if (!log) {
    logger.warn('tlog.unsigned', { reason: `the ${ca.keyStore.type} key store holds no Ed25519 log key: the log grows but no checkpoint is signed` });
    return { background: false, verdict: Promise.resolve(null), serving: async () => {}, stop: async () => {} };
  }
  log.logger = logger;
  const started = Date.now();
  const threads: Worker[] = [];
  let stopped = false;
  // The threads open the SQLite file read-only; on PostgreSQL the check runs inline (the server reads for it).
  const background = !db.memory && !ca.store.shared && ca.store.audit.log.size() >= (o.threadFrom ?? THREAD_FROM);
  if (background) logger.info('tlog.checking', { size: ca.store.audit.log.size(), reason: 'a big log is checked on threads while the server answers; issuance waits for the verdict' });
  const verdict = background
    ? log.checkWith(async () => {
        const reports = Promise.all((['tree', 'inventory'] as const).map((job) => onThread({ path: db.name, job, vkey: log.verifierKey }, threads)));
        const [tree, inventory] = await reports.catch((e: unknown) => {
          throw stopped ? new Error('the server stopped before the check finished') : e;
        });
        await o.beforeVerdict?.();
        return { size: tree!.size, findings: [...tree!.findings, ...inventory!.findings] };
      })
    : log.check();
  // A failed check is already a refusal (checkWith); an inline one's error fails the start where it is awaited.
  verdict.then((r) => r.ok && logger.info('tlog.checked', { size: r.size, ms: Date.now() - started, background }), () => undefined);
  const afterVerdict = async (r: LogCheck) => {
    if (r.ok) await log.signNow();
    log.start();
  };
  const serving = async () => {
    if (!background) return afterVerdict(await verdict);
    verdict.then(afterVerdict).catch((e: unknown) => logger.error('tlog.check-failed', { error: (e as Error).message }));
  };
  const stop = async () => {
    stopped = true;
    await Promise.all(threads.map((t) => t.terminate()));
  };
  return { background, verdict, serving, stop };
}

function onThread(job: LogCheckJob, threads: Worker[]): Promise<LogFindings> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerEntry('log-check-worker'), { workerData: job });
    threads.push(worker);
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the log check's ${job.job} thread ended (exit ${code}) before it reported`)));
  });
}
