/** Exit codes: 0 ok, 1 refused or failed (with a one-line reason), 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Makes the wrapper of command actions: a CaError becomes `pki: <detail>` and exit 1; anything
 * else also shows its message. `explain` may first name an error better (the server side turns a
 * SQLite error into the database's); the agent passes none, so it never loads the store. The
 * CaError check comes from the caller's surface (src/agent.ts or src/cli-revoke.ts): this file
 * imports no src/ module, so neither `pki-agent` nor `pki revoke` loads the other's (#21).
 */
export function actionWith(isCaError: (e: unknown) => e is { detail: string }, explain: (e: unknown) => unknown = (e) => e) {
  return function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        await fn(...args);
      } catch (caught) {
        const e = explain(caught);
        if (isCaError(e)) {
          process.stderr.write(`pki: ${e.detail}\n`);
        } else {
          process.stderr.write(`pki: unexpected error: ${(e as Error)?.message ?? String(e)}\n`);
          if (process.env.PKI_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
        }
        process.exitCode = EXIT.failed;
      }
    };
  };
}
