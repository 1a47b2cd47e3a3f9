import pg from 'pg';
import { runAsWorker } from 'synckit';
import { CHANGES_SLOT, TABLE_SLOTS, type PgReply, type PgRequest } from './protocol.ts';

/*
 * The thread that owns one PostgreSQL connection for a PgDb. The caller's thread blocks on each
 * request (synckit: Atomics.wait), which keeps the repositories' synchronous contract; this thread's
 * own event loop stays free between requests, so LISTEN notifications arrive while the caller works
 * and are counted in shared memory the caller reads without a round trip.
 */

// Column types as SQLite gives them: bigint and numeric as numbers (unix ms fit in 2^53),
// booleans (from comparisons) as 0/1.
pg.types.setTypeParser(20, Number);
pg.types.setTypeParser(1700, Number);
pg.types.setTypeParser(16, (v: string) => (v === 't' ? 1 : 0));

/** One PgDb's connection: synckit runs a single thread per process for every PgDb, so they are kept apart by id. */
interface Connection {
  url: string;
  channel: string;
  changes: Int32Array;
  client: pg.Client | null;
}

const connections = new Map<number, Connection>();

async function connection(conn: number, inTransaction = false): Promise<pg.Client> {
  const k = connections.get(conn);
  if (!k) throw new Error(`connection ${conn} is not open`);
  if (k.client) return k.client;
  // A new connection would run the rest of the transaction outside it (each statement committed alone).
  if (inTransaction) throw new Error('the connection to PostgreSQL was lost inside a transaction (PostgreSQL rolled it back)');
  const c = new pg.Client({ connectionString: k.url, connectionTimeoutMillis: 5_000, application_name: 'pki' });
  // A dropped connection is reported by the next query; the one after reconnects.
  c.on('error', () => {
    if (k.client === c) k.client = null;
  });
  c.on('end', () => {
    if (k.client === c) k.client = null;
  });
  c.on('notification', (n) => {
    Atomics.add(k.changes, CHANGES_SLOT, 1);
    const slot = TABLE_SLOTS[n.payload ?? ''];
    if (slot !== undefined) Atomics.add(k.changes, slot, 1);
  });
  await c.connect();
  // As SQLite's busy_timeout: wait for a lock at most 5 s, then fail instead of hanging a request.
  await c.query("SET lock_timeout = '5s'; SET statement_timeout = '30s'");
  if (k.channel) await c.query(`LISTEN ${k.channel}`);
  // A reconnect may have missed notifications: tell the caller anything may have changed.
  for (let slot = 0; slot < k.changes.length; slot++) Atomics.add(k.changes, slot, 1);
  k.client = c;
  return c;
}

/** Structured clone turned the caller's Buffers into Uint8Arrays; node-postgres sends only Buffers as bytea. */
function param(v: unknown): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'bigint') return v.toString();
  return v === undefined ? null : v;
}

async function handle(req: PgRequest): Promise<PgReply> {
  switch (req.op) {
    case 'connect':
      connections.set(req.conn, { url: req.url, channel: req.channel, changes: new Int32Array(req.changes), client: null });
      try {
        await connection(req.conn);
      } catch (e) {
        connections.delete(req.conn);
        throw e;
      }
      return {};
    case 'query': {
      const c = await connection(req.conn, req.inTransaction);
      const r = await c.query({ text: req.sql, values: req.params.map(param), ...(req.rowMode === 'array' ? { rowMode: 'array' as const } : {}) });
      return { rows: r.rows as unknown[], changes: r.rowCount ?? 0 };
    }
    case 'exec': {
      const c = await connection(req.conn, req.inTransaction);
      await c.query(req.sql);
      return {};
    }
    case 'close': {
      const c = connections.get(req.conn)?.client;
      connections.delete(req.conn);
      await c?.end().catch(() => undefined);
      return {};
    }
  }
}

runAsWorker(async (req: PgRequest): Promise<PgReply> => {
  try {
    return await handle(req);
  } catch (e) {
    const err = e as { message?: string; code?: string; detail?: string };
    return { error: { message: err.message ?? String(e), ...(err.code ? { code: err.code } : {}), ...(err.detail ? { detail: err.detail } : {}) } };
  }
});
