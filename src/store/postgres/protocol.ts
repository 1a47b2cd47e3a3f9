/**
 * Messages between a PgDb (the caller's thread, blocked while it waits) and the connection thread
 * (pg-worker.ts). synckit starts one thread per worker file and process, shared by every PgDb the
 * process opens, so each request names its PgDb's connection (`conn`).
 */
export type PgRequest = { conn: number; /** The caller has a transaction open: a lost connection must not be replaced. */ inTransaction?: boolean } & (
  | { op: 'connect'; url: string; changes: SharedArrayBuffer; channel: string }
  | { op: 'query'; sql: string; params: unknown[]; rowMode: 'object' | 'array' }
  /** Statements without parameters, several allowed (BEGIN; SELECT pg_advisory_xact_lock(…)). */
  | { op: 'exec'; sql: string }
  | { op: 'close' }
);

export interface PgReply {
  rows?: unknown[];
  changes?: number;
  error?: { message: string; code?: string; detail?: string };
}

/** The counter slot in the shared change buffer: bumped on every NOTIFY the connection receives. */
export const CHANGES_SLOT = 0;

/** Tables with a counter of their own (after CHANGES_SLOT), bumped when a NOTIFY names them: caches of their rows. */
export const TABLE_SLOTS: Record<string, number> = { acme_accounts: 1 };
export const CHANGE_SLOTS = 2;
