import { join } from 'node:path';
import { afterAll, afterEach, describe } from 'vitest';
import { openStore, type Store } from '../../../src/store/store.ts';
import { createTestDatabase, dropTestDatabase, hasPostgres } from '../../helpers/postgres.ts';
import { tempDir } from '../../helpers/tmp.ts';

/**
 * The store contract suite runs every case on both backends (#22): SQLite (a temp file) and
 * PostgreSQL (a fresh database in the test cluster, PKI_TEST_POSTGRES_URL). A case that passes
 * on one and fails on the other is a portability bug in src/store, never a case to split.
 */
export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

export interface Fixture {
  backend: Backend;
  /** A new, empty database location: a file path or a postgres:// URL (dropped after the file's tests). */
  location(): Promise<string>;
  /** A store on a new database with the schema (what `pki init` opens), closed after the test. */
  fresh(): Promise<Store>;
  /** A store on `location` as `pki serve` opens it, closed after the test. */
  reopen(location: string): Store;
}

export function contract(title: string, body: (f: Fixture) => void): void {
  describe.each(BACKENDS)(`${title} (%s)`, (backend) => {
    // skips only locally: hasPostgres() throws when CI is set
    describe.skipIf(backend === 'postgres' && !hasPostgres())('store contract', () => {
      const opened: Store[] = [];
      const databases: string[] = [];
      const dir = backend === 'sqlite' ? tempDir('pki-contract-') : '';
      let n = 0;
      const location = async (): Promise<string> => {
        if (backend === 'sqlite') return join(dir, `${++n}.db`);
        const url = await createTestDatabase();
        databases.push(url);
        return url;
      };
      const keep = (s: Store): Store => {
        opened.push(s);
        return s;
      };
      afterEach(() => {
        for (const s of opened.splice(0)) s.close();
      });
      afterAll(async () => {
        for (const url of databases.splice(0)) await dropTestDatabase(url);
      });
      body({
        backend,
        location,
        fresh: async () => keep(openStore(await location(), { create: true })),
        reopen: (at) => keep(openStore(at)),
      });
    });
  });
}

/** Every byte value, twice, in an order no text encoding would keep: what DER columns must round-trip. */
export const ALL_BYTES = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 256 }, (_, i) => 255 - i), 0, 0]);

export const at = (iso: string): Date => new Date(iso);
