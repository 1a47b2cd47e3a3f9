import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openInventory } from '../../src/index.ts';
import { openCheckpoint, parseVerifierKey } from '../../src/tlog/note.ts';
import { pki } from '../helpers/cli.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The log key on a PKCS#11 token (SoftHSM2 implements CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA):
 * `pki init` makes it on the token beside the intermediate, checkpoints are signed there, and
 * `pki audit verify` holds the log to them.
 */
const available = hasSoftHsm();

describe.skipIf(!available)('transparency log on a PKCS#11 instance', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;
  const work = tempDir();

  it('ok/the Ed25519 log key lives on the token, signs checkpoints there, and the log verifies', async () => {
    const dir = join(work, 'ca');
    const env = { PKI_PKCS11_PIN: token.pin, PKI_PASSPHRASE: '' };
    const init = pki(['init', '--dir', dir, '--key-store', 'pkcs11', '--pkcs11-module', token.module, '--pkcs11-token', token.label, '--pkcs11-pin-env', 'PKI_PKCS11_PIN'], env);
    expect(init.status, init.stderr).toBe(0);
    const keys = pki(['keys', 'list', '--dir', dir], env);
    expect(keys.status, keys.stderr).toBe(0);
    expect(existsSync(join(dir, 'keys/log.key.pem'))).toBe(false);
    const inv = await openInventory(dir);
    const note = inv.store.audit.log.latestCheckpoint()?.note;
    inv.close();
    expect(note).toBeDefined();
    const c = openCheckpoint(note!, parseVerifierKey(readFileSync(join(dir, 'log.vkey'), 'utf8')));
    expect(c.size).toBeGreaterThan(0);
    const v = pki(['audit', 'verify', '--dir', dir], env);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/transparency log matches its signed checkpoint of \d+ entries/);
  }, 60_000);
});
