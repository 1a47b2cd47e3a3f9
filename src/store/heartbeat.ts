import type { Db } from './sql.ts';
import { StatementCache } from './statements.ts';

/** The readiness probe's write: one row, rewritten, committed like any issuance (synchronous=FULL). */
export class HeartbeatRepository {
  readonly #db: Db;
  readonly #statements: StatementCache;
  constructor(db: Db) {
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  /**
   * Writes the heartbeat. Waits at most `waitMs` for the write lock (another process may hold
   * it) instead of the connection's long busy timeout, so a probe never stalls the server.
   */
  beat(at: Date, waitMs = 250): void {
    const previous = this.#db.pragma('busy_timeout', { simple: true }) as number;
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
    try {
      this.#statements.get('INSERT INTO heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at').run(at.getTime());
    } finally {
      this.#db.pragma(`busy_timeout = ${previous}`);
    }
  }
}
