import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initInstance } from '../../src/index.ts';
import { pki } from '../helpers/cli.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';

interface Row {
  role: string;
  label: string;
  store: string;
  algorithm: string;
  spkiSha256: string;
  status: string;
  location: string;
}

describe('pki keys list (file key store)', () => {
  const work = tempDir();
  const dir = join(work, 'ca');
  const env = { PKI_PASSPHRASE: TEST_PASSPHRASE };
  const list = () => {
    const r = pki(['keys', 'list', '--dir', dir, '--json'], env);
    return { ...r, rows: r.stdout ? (JSON.parse(r.stdout) as Row[]) : [] };
  };

  it('ok/root and intermediate with store, algorithm and the SPKI SHA-256 openssl computes', async () => {
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, keyAlg: 'ecdsa-p384' });
    const r = list();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.rows.map((k) => [k.role, k.label, k.store, k.algorithm, k.status])).toEqual([
      ['root', 'root', 'file', 'ecdsa-p384', 'ok'],
      ['intermediate', 'intermediate', 'file', 'ecdsa-p384', 'ok'],
    ]);
    if (hasTool('openssl')) {
      for (const [role, cert] of [['root', 'ca/root.pem'], ['intermediate', 'ca/intermediate.pem']] as const) {
        const hex = run('sh', ['-c', `openssl x509 -in '${join(dir, cert)}' -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r`]).split(' ')[0]!;
        expect(r.rows.find((k) => k.role === role)!.spkiSha256).toBe(hex.toUpperCase().match(/../g)!.join(':'));
      }
    }
    const table = pki(['keys', 'list', '--dir', dir], env).stdout;
    expect(table).toMatch(/^ROLE\s+LABEL\s+STORE\s+ALGORITHM\s+STATUS\s+SPKI SHA-256\s+LOCATION$/m);
    expect(table).toMatch(/^intermediate\s+intermediate\s+file\s+ecdsa-p384\s+ok\s+([0-9A-F]{2}:){31}[0-9A-F]{2}\s/m);
  });

  it('ok/a root key moved offline is listed as offline, from the root certificate', () => {
    renameSync(join(dir, 'offline/root.key.pem'), join(work, 'root.key.pem'));
    const r = list();
    expect(r.status).toBe(0);
    expect(r.rows.find((k) => k.role === 'root')).toMatchObject({ store: 'file', status: 'offline' });
  });

  it('fail/a key that does not match its certificate is a mismatch, exit 1', () => {
    copyFileSync(join(dir, 'ca/root.pem'), join(dir, 'ca/intermediate.pem'));
    const r = list();
    expect(r.status).toBe(1);
    expect(r.rows.find((k) => k.role === 'intermediate')).toMatchObject({ status: 'mismatch' });
  });

  it('fail/the wrong passphrase is a clear error', () => {
    const r = pki(['keys', 'list', '--dir', dir], { PKI_PASSPHRASE: 'not-the-passphrase' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/wrong passphrase/);
  });
});
