import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initInstance, openInstance } from '../../src/index.ts';
import { pki } from '../helpers/cli.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * `pki revoke` records the revocation without the key store (#21): no passphrase, no KDF run, so
 * next to a busy `pki serve` it costs a process start and one durable commit (scripts/bench-fleet.ts
 * times it). The running server signs the OCSP response and CRL that follow.
 */
describe('pki revoke needs no key', () => {
  const dir = join(tempDir(), 'ca');
  let serial: string;
  beforeAll(async () => {
    await initInstance({ dir, passphrase: TEST_PASSPHRASE });
    const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
    serial = (await ca.authority.issue((await makeCsr({ cn: 'k.example', sans: [{ type: 'dns', value: 'k.example' }] })).pem)).serial;
    await ca.close();
  });

  it('ok/revokes with no passphrase anywhere, with its audit event; a repeat is refused', async () => {
    const env = { PKI_PASSPHRASE: '' };
    const r = pki(['revoke', '--dir', dir, '--serial', serial, '--reason', 'keyCompromise'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`revoked ${serial} at .* \\(reason keyCompromise\\)`));
    const again = pki(['revoke', '--dir', dir, '--serial', serial], env);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already revoked/);
    const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
    try {
      expect(ca.store.certificates.get(serial)!.status).toBe('revoked');
      expect(ca.store.certificates.get(serial)!.reason).toBe(1);
    } finally {
      await ca.close();
    }
  });

  it('fail/a serial this CA never issued, and the CA certificates themselves, are refused', () => {
    const r = pki(['revoke', '--dir', dir, '--serial', '0badc0de'], { PKI_PASSPHRASE: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no certificate with serial 0badc0de/);
    const intermediate = pki(['revoke', '--dir', dir, '--cert', join(dir, 'ca', 'intermediate.pem')], { PKI_PASSPHRASE: '' });
    expect(intermediate.status).toBe(1);
    expect(intermediate.stderr).toMatch(/was issued by this CA/);
  });
});
