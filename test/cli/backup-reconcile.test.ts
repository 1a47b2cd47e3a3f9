import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.ts';
import { pki } from '../helpers/cli.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('pki backup', () => {
  it('ok/the backup holds every certificate the instance issued; a second backup to the same file is refused', async () => {
    const ca = await createTestCa();
    const serials: string[] = [];
    for (let i = 0; i < 5; i++) serials.push((await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: `b${i}.internal` }] })).pem)).serial);
    const out = join(tempDir(), 'backup.db');
    // The instance stays open (as under pki serve) while the backup runs.
    const r = pki(['backup', '--dir', ca.dir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/7 valid/); // 5 leaves + root + intermediate
    // As private as the database it copies, whatever the umask (#16).
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(statSync(join(ca.dir, 'pki.db')).mode & 0o777).toBe(0o600);
    const restored = openStore(out);
    for (const s of serials) expect(restored.certificates.get(s)?.status).toBe('valid');
    expect(restored.audit.verifyChain().ok).toBe(true);
    restored.close();
    const again = pki(['backup', '--dir', ca.dir, '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    await ca.close();
  });
});

describe('Authority.reconcilePending', () => {
  it('ok/marks stale pending serials failed with an audit row, leaves fresh ones alone', async () => {
    const ca = await createTestCa();
    const reserve = (serial: string, at: Date) =>
      ca.store.certificates.reserve({ serial, issuer: ca.authority.issuer.keyId, subject: '', sans: ['dns:x'], profile: 'default', notBefore: at, notAfter: at, publicKeySha256: 'x', now: at });
    reserve('1a2b', new Date(Date.now() - 3_600_000));
    reserve('1a2c', new Date());
    expect(ca.authority.reconcilePending()).toEqual(['1a2b']);
    expect(ca.store.certificates.get('1a2b')!.status).toBe('failed');
    expect(ca.store.certificates.get('1a2c')!.status).toBe('pending');
    expect(ca.store.audit.list({ target: '1a2b' }).map((e) => e.action)).toEqual(['certificate.abandoned']);
    expect(ca.authority.reconcilePending()).toEqual([]);
    await ca.close();
  });
});
