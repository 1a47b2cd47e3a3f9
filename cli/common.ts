import { databaseFailure, isCaError, openInventory, type Inventory } from '../src/index.ts';

/** Exit codes: 0 ok, 1 refused or failed (with a one-line reason), 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Wraps a command action: a CaError becomes `pki: <detail>` and exit 1 (a SQLite error `pki: database <path>: …`); anything else also shows its message. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (caught) {
      // A storage error met after the open (a damaged page) is named as the database's, not as whatever was running.
      const e = databaseFailure(caught) ?? caught;
      if (isCaError(e)) {
        process.stderr.write(`pki: ${e.detail}\n`);
      } else {
        process.stderr.write(`pki: unexpected error: ${(e as Error)?.message ?? String(e)}\n`);
        if (process.env.PKI_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
      }
      process.exitCode = EXIT.failed;
    }
  };
}

/** Prints rows as an aligned table with a header. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Runs `fn` on the instance's inventory (database only, no key store) and closes it whatever happens. */
export async function withInventory<T>(dir: string, fn: (inv: Inventory) => T | Promise<T>): Promise<T> {
  const inv = await openInventory(dir);
  try {
    return await fn(inv);
  } finally {
    inv.close();
  }
}

/** Rows as JSON (`--json`) or as an aligned table. */
export function printRows<T>(rows: T[], json: boolean | undefined, headers: string[], cells: (r: T) => string[]): void {
  process.stdout.write(json ? JSON.stringify(rows, null, 2) + '\n' : formatTable(headers, rows.map(cells)));
}
