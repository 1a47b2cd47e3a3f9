import type { SqlStatement as Statement } from './sql.ts';
import type { Db } from './sql.ts';

/** Prepared statements by SQL text, one cache per connection: preparing costs about as much as running the small queries repositories issue on every request. */
export class StatementCache {
  readonly #db: Db;
  readonly #cache = new Map<string, Statement>();
  constructor(db: Db) {
    this.#db = db;
  }

  get(sql: string): Statement {
    let s = this.#cache.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#cache.set(sql, s);
    }
    return s;
  }
}
