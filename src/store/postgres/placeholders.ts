/**
 * SQLite's placeholders as PostgreSQL's `$1, $2, …`: anonymous `?` in order, and named `:name` /
 * `@name` (better-sqlite3 binds them from an object argument; a name used twice is one parameter).
 * A placeholder-like character inside a string literal, a quoted identifier or a comment is text,
 * and `::` is PostgreSQL's cast.
 */
export interface CompiledSql {
  text: string;
  /** What `$k+1` binds: the index of an anonymous argument, or a named parameter's name. */
  slots: (number | string)[];
  named: boolean;
}

export function compileSql(sql: string): CompiledSql {
  let out = '';
  const slots: (number | string)[] = [];
  const byName = new Map<string, number>();
  let anonymous = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end);
      i = end - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === ':' && sql[i + 1] === ':') {
      out += '::';
      i++;
    } else if (c === '?') {
      slots.push(anonymous++);
      out += `$${slots.length}`;
    } else if ((c === ':' || c === '@') && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))![0];
      let n = byName.get(name);
      if (n === undefined) {
        slots.push(name);
        n = slots.length;
        byName.set(name, n);
      }
      out += `$${n}`;
      i += name.length;
    } else {
      out += c;
    }
  }
  return { text: out, slots, named: byName.size > 0 };
}

/** The `?` placeholders only (what most statements use). */
export function toPositional(sql: string): string {
  return compileSql(sql).text;
}

/** The values for a compiled statement from better-sqlite3-style arguments (named ones in a trailing object). */
export function bindParams(c: CompiledSql, args: unknown[]): unknown[] {
  if (!c.named) return args;
  const last = args.at(-1);
  const named = last !== null && typeof last === 'object' && Object.getPrototypeOf(last) === Object.prototype ? (last as Record<string, unknown>) : {};
  const anonymous = named === last ? args.slice(0, -1) : args;
  return c.slots.map((s) => {
    if (typeof s === 'number') return anonymous[s];
    if (!(s in named)) throw new RangeError(`Missing named parameter "${s}"`);
    return named[s];
  });
}

/** Index just past the quote closing the one at `start` (a doubled quote is an escaped one). */
function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}
