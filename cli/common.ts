import { databaseFailure, isCaError } from '../src/index.ts';

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
  // A loop, not Math.max(...column): spreading a million values overflows the call stack.
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, (r[i] ?? '').length);
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
