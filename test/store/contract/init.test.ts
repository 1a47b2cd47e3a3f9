import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { initInstance } from '../../../src/index.ts';
import { openStore } from '../../../src/store/store.ts';
import { pkiAsync } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { contract } from './backends.ts';

contract('pki init --database', (f) => {
  const root = tempDir('pki-init-db-');
  let n = 0;

  it('bad/a database that already holds an instance is refused (conflict, exit 1) and keeps its instance', async () => {
    const database = await f.location();
    const first = join(root, `first-${++n}`);
    await initInstance({ dir: first, passphrase: 'contract-suite-passphrase', database });
    const before = openStore(database);
    const events = before.audit.lastId();
    const certs = before.certificates.countByStatus();
    before.close();
    expect(events).toBeGreaterThan(0);

    await expect(initInstance({ dir: join(root, `second-${n}`), passphrase: 'contract-suite-passphrase', database })).rejects.toMatchObject({ kind: 'conflict' });
    const cli = await pkiAsync(['init', '--dir', join(root, `third-${n}`), '--database', database], { PKI_PASSPHRASE: 'contract-suite-passphrase' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/already holds a pki instance/);
    expect(cli.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace

    const after = f.reopen(database);
    expect(after.audit.lastId()).toBe(events);
    expect(after.certificates.countByStatus()).toStrictEqual(certs);
    expect(after.audit.verifyChain()).toMatchObject({ ok: true });
    expect(existsSync(join(first, 'pki.json'))).toBe(true);
    // Refused before anything was created: no half-made instance directory is left behind.
    expect(existsSync(join(root, `second-${n}`))).toBe(false);
    expect(existsSync(join(root, `third-${n}`))).toBe(false);
  });
});
