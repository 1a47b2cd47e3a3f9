import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe } from 'vitest';
import { openStore, type Store } from '../../../src/store/store.ts';
import { createTestDatabase, dropTestDatabase, hasPostgres } from '../../helpers/postgres.ts';
import { tempDir } from '../../helpers/tmp.ts';

/**
 * The store contract suite runs every case on both backends (#22): SQLite (a temp file) and
 * PostgreSQL (a database in the test cluster, PKI_TEST_POSTGRES_URL). A case that passes on one
 * and fails on the other is a portability bug in src/store, never a case to split.
 */
export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

export interface Fixture {
  backend: Backend;
  /** A new, empty database location: a file path or a postgres:// URL (dropped after the file's tests). */
  location(): Promise<string>;
  /**
   * A store on a database in the state `openStore(location, { create: true })` leaves, closed after
   * the test. Made from one such database per test file: SQLite copies the file; PostgreSQL copies
   * it with CREATE DATABASE … TEMPLATE and reuses copies emptied by TRUNCATE (a new database costs
   * far more than the cases themselves).
   */
  fresh(): Promise<Store>;
  /** A store on `location` as `pki serve` opens it, closed after the test. */
  reopen(location: string): Store;
}

// One per test file (vitest loads this module once per file).
const dir = tempDir('pki-contract-');
let files = 0;
const databases: string[] = [];
const templates: Partial<Record<Backend, Promise<string>>> = {};
/** PostgreSQL copies free for the next case. */
const idle: string[] = [];

afterAll(async () => {
  await Promise.all(databases.splice(0).map((url) => dropTestDatabase(url)));
});

async function location(backend: Backend): Promise<string> {
  if (backend === 'sqlite') return join(dir, `${++files}.db`);
  // A non-C collation, as production servers often have: ORDER BY on text must not depend on it.
  const url = await createTestDatabase({ icuLocale: 'en-US' });
  databases.push(url);
  return url;
}

function template(backend: Backend): Promise<string> {
  return (templates[backend] ??= location(backend).then((at) => {
    openStore(at, { create: true }).close();
    return at;
  }));
}

export function contract(title: string, body: (f: Fixture) => void): void {
  describe.each(BACKENDS)(`${title} (%s)`, (backend) => {
    describe.skipIf(backend === 'postgres' && !hasPostgres())('store contract', () => { // skips only locally: hasPostgres() throws when CI is set
      const opened: Store[] = [];
      const lent: string[] = [];
      const keep = (s: Store): Store => {
        opened.push(s);
        return s;
      };
      afterEach(() => {
        for (const s of opened.splice(0)) s.close();
        idle.push(...lent.splice(0));
      });
      const fresh = async (): Promise<Store> => {
        const from = await template(backend);
        if (backend === 'sqlite') {
          const at = join(dir, `${++files}.db`);
          copyFileSync(from, at);
          return keep(openStore(at));
        }
        const reused = idle.pop();
        const url = reused ?? (await createTestDatabase({ template: from }));
        if (!reused) databases.push(url);
        lent.push(url);
        const s = keep(openStore(url));
        if (reused) empty(s);
        return s;
      };
      body({ backend, location: () => location(backend), fresh, reopen: (at) => keep(openStore(at)) });
    });
  });
}

/**
 * Back to the state of a new database: every pki table emptied (TRUNCATE fires no row triggers, so
 * the append-only audit tables empty too) and identity columns restarted; the schema and its
 * migrations row stay.
 */
function empty(s: Store): void {
  const tables = s.db.prepare("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY tablename").pluck().all() as string[];
  s.db.exec(`TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY`);
}

/** Every byte value, twice, in an order no text encoding would keep: what DER columns must round-trip. */
export const ALL_BYTES = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 256 }, (_, i) => 255 - i), 0, 0]);

export const at = (iso: string): Date => new Date(iso);
