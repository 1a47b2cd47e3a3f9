import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pki } from '../helpers/cli.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A PKCS#11 key store holds no Ed25519 log key (pki does not rely on CKM_EDDSA, docs/operations.md):
 * the log still grows with every act and `pki audit verify` still recomputes it and cross-checks
 * the inventory, but says clearly that no checkpoint is signed; asking the token for the key is refused.
 */
const available = hasSoftHsm();

describe.skipIf(!available)('transparency log on a PKCS#11 instance', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null!;
  const work = tempDir();

  it('ok/the log is appended and verified, with a warning that it is unsigned; an Ed25519 key on the token is refused', async () => {
    const dir = join(work, 'ca');
    const env = { PKI_PKCS11_PIN: token.pin, PKI_PASSPHRASE: '' };
    const init = pki(['init', '--dir', dir, '--key-store', 'pkcs11', '--pkcs11-module', token.module, '--pkcs11-token', token.label, '--pkcs11-pin-env', 'PKI_PKCS11_PIN'], env);
    expect(init.status, init.stderr).toBe(0);
    const v = pki(['audit', 'verify', '--dir', dir], env);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/warning: transparency log unsigned: the pkcs11 key store holds no log key/);
    expect(v.stdout).toMatch(/transparency log matches the events \(unsigned\)/);

    const { openKeyStore } = await import('../../src/keystore/keystore.ts');
    await import('../../src/keystore/pkcs11.ts');
    const ks = await openKeyStore('pkcs11', { baseDir: dir, settings: { module: token.module, token: token.label }, secret: token.pin });
    try {
      await expect(ks.createKey({ label: 'log', alg: 'ed25519' })).rejects.toThrow(/does not hold Ed25519 \(log\) keys/);
      expect(ks.getLogSigner).toBeUndefined();
    } finally {
      await ks.close();
    }
  }, 60_000);
});
