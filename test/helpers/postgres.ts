import pg from 'pg';
import { randomBytes } from 'node:crypto';

/** Whether PostgreSQL tests can run (PKI_TEST_POSTGRES_URL, set by .ci/run); under CI its absence is a failure. */
export function hasPostgres(): boolean {
  const found = Boolean(process.env.PKI_TEST_POSTGRES_URL);
  if (!found && process.env.CI) throw new Error('PKI_TEST_POSTGRES_URL is required in CI (.ci/run starts a throwaway cluster)');
  return found;
}

/** A fresh empty database on the test cluster; its URL. */
export async function createTestDatabase(): Promise<string> {
  const admin = process.env.PKI_TEST_POSTGRES_URL!;
  const name = `pki_test_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}
