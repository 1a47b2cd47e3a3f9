import type { Statement } from 'better-sqlite3';
import type { Db } from './sqlite.ts';

/**
 * Prepares each SQL text once per connection. Preparing costs about as much as
 * running a small statement, and repositories run the same few on every request.
 */
export function statementCache(db: Db): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
