import { fork, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:net';
import type { Logger } from '../../../domain/log.ts';
import type { RequestTimeouts } from '../../server-limits.ts';

const START_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1_000;

/** What the primary tells a worker (with the listening socket as the message's handle). */
export interface WorkerConfig {
  dbPath: string;
  /** DER of the issuing certificate, base64: CertIDs are matched against its hashes. */
  issuerCertificate: string;
  /** The primary's internal listener on 127.0.0.1, for everything not answered here. */
  primaryPort: number;
  pollIntervalMs: number;
  maintenanceIntervalMs: number;
  ocspValidityMs: number;
  maxCertsPerRequest: number;
  /** Pre-signed responses each worker holds in memory (the rest it reads by serial). */
  cacheEntries: number;
  /** The primary's request time limits (pki.json http.requestTimeout/headersTimeout), held here too. */
  timeouts: RequestTimeouts;
}

export interface OcspWorkers {
  /** Stops every worker (SIGTERM) and waits for them to exit. */
  close(): Promise<void>;
}

/**
 * Forks `count` OCSP worker processes that accept connections on `listening` (the
 * primary's own plain-HTTP socket, shared: the kernel hands each connection to one of
 * the processes). Resolves once every worker has loaded the pre-signed responses and
 * listens. A worker that dies is started again; the primary keeps serving meanwhile.
 */
export async function startOcspWorkers(o: { count: number; listening: Server; config: WorkerConfig; logger: Logger; /** The worker process's entry module (instance/ocsp-worker-launch.js). */ entry: string }): Promise<OcspWorkers> {
  const children = new Set<ChildProcess>();
  let closing = false;

  const spawnOne = (id: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(o.entry, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
      children.add(child);
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`OCSP worker ${id} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.on('message', (m: { type: string; responses?: number; error?: string }) => {
        // The socket goes only to a worker that is ready to take it over at once (instance/ocsp-worker.ts).
        if (m.type === 'prepared') return void child.send({ type: 'listen' }, o.listening);
        clearTimeout(timer);
        if (m.type === 'ready') {
          o.logger.info('ocsp.worker.ready', { worker: id, pid: child.pid, responses: m.responses });
          resolve();
        } else reject(new Error(`OCSP worker ${id} failed: ${m.error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        children.delete(child);
        reject(new Error(`OCSP worker ${id} exited (${signal ?? code})`));
        if (closing) return;
        o.logger.error('ocsp.worker.exited', { worker: id, pid: child.pid, code, signal });
        setTimeout(() => !closing && spawnOne(id).catch((e: Error) => o.logger.error('ocsp.worker.restart_failed', { worker: id, error: e.message })), RESTART_DELAY_MS).unref();
      });
      child.send({ type: 'start', config: o.config });
    });

  const close = async () => {
    closing = true;
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    await Promise.all(Array.from({ length: o.count }, (_, i) => spawnOne(i + 1)));
  } catch (e) {
    await close();
    throw e;
  }
  return { close };
}
