import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a file's written data durable (fdatasync), off the event loop. */
export type DataSync = (path: string) => Promise<void>;

const datasyncFile: DataSync = async (path) => {
  // Opened per flush: the -wal file is replaced when every connection closes, and an fd kept
  // open across that would sync a deleted inode.
  const fh = await open(path, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
};

interface Waiter {
  generation: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for a WAL database whose connection runs with synchronous=NORMAL: commits
 * append their frames to the -wal file without syncing, and `flush()` resolves once an
 * fdatasync of that file that started after the call has finished, i.e. once every commit
 * made before the call is on disk (what synchronous=FULL gives each commit). The fdatasync
 * runs on libuv's thread pool, so the event loop keeps serving while the disk works, and
 * callers that arrive while one flush runs share the next one.
 *
 * The directory is synced on the first flush, as SQLite does after creating a -wal file.
 */
export class WalFlusher {
  readonly #walPath: string;
  readonly #sync: DataSync;
  #requested = 0;
  #running = false;
  #dirSynced = false;
  #waiters: Waiter[] = [];

  constructor(databasePath: string, o: { sync?: DataSync } = {}) {
    this.#walPath = `${databasePath}-wal`;
    this.#sync = o.sync ?? datasyncFile;
  }

  /** Resolves when every commit made before this call is durable; rejects if the sync failed. */
  flush(): Promise<void> {
    const generation = ++this.#requested;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ generation, resolve, reject });
      this.#start();
    });
  }

  #start(): void {
    if (this.#running || this.#waiters.length === 0) return;
    this.#running = true;
    // Everything requested so far was committed before this sync starts: it covers them all.
    const covered = this.#requested;
    const run = async () => {
      if (!this.#dirSynced) {
        await this.#sync(dirname(this.#walPath));
        this.#dirSynced = true;
      }
      await this.#sync(this.#walPath);
    };
    run().then(
      () => this.#settle(covered, (w) => w.resolve()),
      (e: unknown) => this.#settle(covered, (w) => w.reject(e)),
    );
  }

  #settle(covered: number, done: (w: Waiter) => void): void {
    const settled = this.#waiters.filter((w) => w.generation <= covered);
    this.#waiters = this.#waiters.filter((w) => w.generation > covered);
    this.#running = false;
    for (const w of settled) done(w);
    this.#start();
  }
}
