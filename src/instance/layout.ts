import { resolve } from 'node:path';
import { isPostgresUrl } from '../store/postgres/open.ts';

/**
 * Where the instance database is: the `database` setting as a SQLite path resolved against the
 * instance directory, or a postgres:// URL as it is.
 */
export function databaseLocation(dir: string, database: string): string {
  return isPostgresUrl(database) ? database : resolve(dir, database);
}

/** Where an instance keeps its files, relative to its directory. */
export const LAYOUT = {
  config: 'pki.json',
  database: 'pki.db',
  keys: 'keys',
  passphrase: 'secrets/passphrase',
  rootKeyDir: 'offline',
  rootKeyLabel: 'root',
  rootCert: 'ca/root.pem',
  intermediateCert: 'ca/intermediate.pem',
  chain: 'ca/chain.pem',
  intermediateKeyLabel: 'intermediate',
  /** The transparency log's note verifier key (public), written when the log key is first used. */
  logVerifierKey: 'log.vkey',
} as const;
