import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests: PKI_TEST_POSTGRES_URL is the admin URL of a throwaway cluster
 * (scripts/pg-test-cluster; .ci/run starts one). Locally, without it, PostgreSQL tests skip;
 * under CI (CI set) its absence is a failure, so the second backend never silently stops being tested.
 */
export function hasPostgres(): boolean {
  const url = process.env.PKI_TEST_POSTGRES_URL;
  if (!url && process.env.CI) {
    throw new Error('PKI_TEST_POSTGRES_URL is not set: PostgreSQL tests cannot be skipped in CI (.ci/run starts a cluster with scripts/pg-test-cluster)');
  }
  return Boolean(url);
}

function adminUrl(given?: string): string {
  const url = given ?? process.env.PKI_TEST_POSTGRES_URL;
  if (!url) throw new Error('PKI_TEST_POSTGRES_URL is not set (scripts/pg-test-cluster start DIR prints one)');
  return url;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, given?: string): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl(given) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** `url` with its database name replaced. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A new, empty database (pki_test_<random>) in the test cluster; returns its URL. With `icuLocale`,
 * its text collation is that ICU locale's instead of the cluster's default. With `template`
 * (a URL from an earlier call), a copy of that database: a migrated schema costs a file copy instead
 * of running the migrations again. The template must have no open connections. `adminUrl`: another
 * cluster than PKI_TEST_POSTGRES_URL's (benchmarks take it as an argument).
 */
export async function createTestDatabase(o: { template?: string; icuLocale?: 'en-US'; adminUrl?: string } = {}): Promise<string> {
  const name = `pki_test_${randomBytes(6).toString('hex')}`;
  // icuLocale: text compares as on most production servers (en_US), not the test cluster's C.
  const locale = o.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${o.icuLocale}' LOCALE 'C.UTF-8'` : '';
  const from = o.template ? ` TEMPLATE ${databaseName(o.template)} STRATEGY FILE_COPY` : locale;
  await admin((c) => c.query(`CREATE DATABASE ${name}${from}`), o.adminUrl);
  return withDatabase(adminUrl(o.adminUrl), name);
}

/** Drops a database made by createTestDatabase, closing whatever connections are still open to it. */
export async function dropTestDatabase(url: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${databaseName(url)} WITH (FORCE)`));
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  // Only names this helper made: never an identifier spliced in from elsewhere.
  if (!/^pki_test_[0-9a-f]{12}$/.test(name)) throw new Error(`not a test database: ${name}`);
  return name;
}
