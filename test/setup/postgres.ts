import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * vitest globalSetup: when no PostgreSQL is given (PKI_TEST_POSTGRES_URL, as .ci/run exports) but
 * the server is installed (scripts/install-test-deps installs it), a throwaway cluster is started
 * for the run and stopped after it, so `npm test` alone runs the PostgreSQL half of the suite too.
 * Without either, the PostgreSQL tests skip locally and fail under CI (test/helpers/postgres.ts).
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/pg-test-cluster', import.meta.url));

function serverInstalled(): boolean {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, 'bin', 'initdb')));
}

export default function setup(): (() => void) | undefined {
  if (process.env.PKI_TEST_POSTGRES_URL || !serverInstalled()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pki-pg-'));
  process.env.PKI_TEST_POSTGRES_URL = execFileSync(SCRIPT, ['start', dir], { encoding: 'utf8' }).trim();
  return () => {
    execFileSync(SCRIPT, ['stop', dir], { stdio: 'ignore' });
  };
}
