import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openInstance, silentLogger, startServer } from '../../src/index.ts';
import { makeCsr } from '../helpers/ca.ts';
import { pkiAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { env, seededInstance } from './support.ts';

/**
 * `pki audit witness` keeps the last checkpoint outside the instance: a database rolled back to
 * an older backup (which `pki audit verify` alone cannot tell from the real thing) is a ROLLBACK,
 * and a rolled-back log that then grows differently is a FORK; both exit 1 and leave the state.
 */
const base = tempDir('pki-witness-');
let dir: string;

beforeAll(async () => {
  ({ dir } = await seededInstance(base, 'w', 2));
}, 60_000);

async function issueOne(name: string): Promise<void> {
  const ca = await openInstance({ dir, env });
  try {
    await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: name } ] })).pem);
  } finally {
    await ca.close();
  }
}

function restore(backup: string): void {
  for (const s of ['-wal', '-shm']) rmSync(join(dir, `pki.db${s}`), { force: true });
  copyFileSync(backup, join(dir, 'pki.db'));
}

describe('pki audit witness', () => {
  const state = join(base, 'witness.json');
  const backup = join(base, 'backup.db');

  it('ok/first run pins the key and keeps the checkpoint; later runs prove the log grew consistently', async () => {
    const vkey = readFileSync(join(dir, 'log.vkey'), 'utf8').trim();
    const first = await pkiAsync(['audit', 'witness', '--state', state, '--dir', dir, '--vkey', vkey]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/witnessed checkpoint of \d+ entries \(first run\)/);
    // The backup an attacker will later roll back to: consistent, verifies on its own.
    copyFileSync(join(dir, 'pki.db'), backup);
    await issueOne('later.witness.test');
    const second = await pkiAsync(['audit', 'witness', '--state', state, '--dir', dir]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/log consistent: (\d+) → (\d+) entries/);
  }, 60_000);

  it('bad/a database rolled back to the older backup verifies by itself but the witness reports ROLLBACK and keeps its state', async () => {
    const kept = readFileSync(state, 'utf8');
    restore(backup);
    const v = await pkiAsync(['audit', 'verify', '--dir', dir], env);
    expect(v.status, v.stderr).toBe(0);
    const w = await pkiAsync(['audit', 'witness', '--state', state, '--dir', dir]);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/ROLLBACK: the log now has (\d+) entries but this witness saw a signed checkpoint of (\d+)/);
    expect(readFileSync(state, 'utf8')).toBe(kept);
  }, 60_000);

  it('bad/the rolled-back log grown past the witnessed size again is a FORK (read over HTTP as from another machine)', async () => {
    await issueOne('fork-1.witness.test');
    await issueOne('fork-2.witness.test');
    const ca = await openInstance({ dir, env });
    const server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false });
    try {
      const w = await pkiAsync(['audit', 'witness', '--state', state, '--url', server.httpUrl]);
      expect(w.status).toBe(1);
      expect(w.stderr).toMatch(/FORK: the checkpoint of \d+ entries does not extend the one of \d+ this witness saw/);
      const usage = await pkiAsync(['audit', 'witness', '--state', state]);
      expect(usage.status).not.toBe(0);
      expect(usage.stderr).toMatch(/exactly one of --url/);
    } finally {
      await server.close();
      await ca.close();
    }
  }, 60_000);
});
