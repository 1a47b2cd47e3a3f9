import { databaseFailure, isCaError } from '../src/cli-revoke.ts';
import type { Inventory } from '../src/index.ts';
import { actionWith } from './action.ts';

export { EXIT } from './action.ts';

/** Wraps a command action (cli/action.ts): a storage error met after the open (a damaged page) is named as the database's, not as whatever was running. */
export const action = actionWith(isCaError, (caught) => databaseFailure(caught) ?? caught);

/** Prints rows as an aligned table with a header. */
export function formatTable(headers: string[], rows: string[][]): string {
  // A loop, not Math.max(...column): spreading a million values overflows the call stack.
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Prints `items` as pretty JSON with --json, else as an aligned table of `row(item)` under `headers`. */
export function writeList<T>(items: T[], json: boolean | undefined, headers: string[], row: (item: T) => string[]): void {
  process.stdout.write(json ? JSON.stringify(items, null, 2) + '\n' : formatTable(headers, items.map(row)));
}

/** Runs `fn` on the instance in `dir` opened for record-keeping (no key store), closing it after. */
export async function withInventory<T>(dir: string, fn: (inv: Inventory) => T | Promise<T>): Promise<T> {
  // Loaded here, not at the top: every command loads this file, and `pki revoke` needs no inventory (#21).
  const { openInventory } = await import('../src/index.ts');
  const inv = await openInventory(dir);
  try {
    return await fn(inv);
  } finally {
    inv.close();
  }
}
